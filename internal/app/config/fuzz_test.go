package config

import "testing"

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("[[account]]\naccount = \"sip:a@b\"\nenabled = false\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.toml", data)
		if err != nil {
			return
		}
		for i := range file.Accounts {
			if err := file.Accounts[i].Validate(); err != nil {
				t.Fatalf("Parse accepted an account Validate rejects: %v", err)
			}
		}
		_, _ = file.Select("a")
		_, _ = file.Select("")
	})
}
