package resourcelists

import (
	"errors"
	"reflect"
	"testing"
)

func TestSetPresencePolicyWithoutAddressbook(t *testing.T) {
	d := New()
	if err := d.SetPresencePolicy("sip:bob@example.test", PolicyBlock); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPresencePolicy("sip:ann@example.test", PolicyAllow); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPresencePolicy("SIP:Bob@example.test", PolicyAllow); err != nil {
		t.Fatal(err)
	}
	granted, _ := d.ListURIs(OMAGrantedContacts)
	blocked, ok := d.ListURIs(OMABlockedContacts)
	if !reflect.DeepEqual(granted, []string{"sip:ann@example.test", "SIP:Bob@example.test"}) || !ok || len(blocked) != 0 {
		t.Errorf("granted %v, blocked %v", granted, blocked)
	}
	if err := d.SetPresencePolicy("sip:ann@example.test", PolicyDefault); err != nil {
		t.Fatal(err)
	}
	if granted, _ := d.ListURIs(OMAGrantedContacts); len(granted) != 1 {
		t.Errorf("granted after default: %v", granted)
	}
	if len(d.Groups()) != 0 {
		t.Errorf("the grant lists became groups: %+v", d.Groups())
	}
	if _, ok := d.ListURIs("nowhere"); ok {
		t.Error("missing list found")
	}
	for _, bad := range [][2]string{{"sip:a@b", "maybe"}, {"nonsense", PolicyAllow}} {
		if err := d.SetPresencePolicy(bad[0], bad[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetPresencePolicy%v: %v", bad, err)
		}
	}
}

func TestSetPresencePolicyFollowsPythonSipsimple(t *testing.T) {
	d := mustParse(t, blinkIndex(t))
	// Bob is a contact: his presence policy decides, not a policy element.
	if err := d.SetPresencePolicy("sip:bob@example.test", PolicyBlock); err != nil {
		t.Fatal(err)
	}
	ab, _ := d.Addressbook()
	if ab.Contacts[0].Presence.Policy != PolicyBlock || len(ab.Policies) != 1 {
		t.Errorf("addressbook %+v", ab)
	}
	granted, _ := d.ListURIs(OMAGrantedContacts)
	blocked, _ := d.ListURIs(OMABlockedContacts)
	if len(granted) != 0 || !reflect.DeepEqual(blocked, []string{"sip:mallory@example.test", "sip:bob@example.test"}) {
		t.Errorf("granted %v blocked %v", granted, blocked)
	}
	out, _ := d.Marshal()
	checkBlinkReadable(t, out)
}

func TestAnyURIEncoding(t *testing.T) {
	for raw, enc := range map[string]string{
		"sip:bob@example.test":         "sip%3Abob%40example.test",
		"https://h/x/~~/l[@n=\"a\"]":   "https%3A//h/x/%7E%7E/l%5B%40n%3D%22a%22%5D",
		"tel:+1-555_0100.9":            "tel%3A%2B1-555_0100.9",
		"sip:j%C3%BCrgen@example.test": "sip%3Aj%25C3%25BCrgen%40example.test",
	} {
		if got := EncodeAnyURI(raw); got != enc {
			t.Errorf("EncodeAnyURI(%q) = %q, want %q", raw, got, enc)
		}
		if got := DecodeAnyURI(enc); got != raw {
			t.Errorf("DecodeAnyURI(%q) = %q, want %q", enc, got, raw)
		}
	}
	if got := DecodeAnyURI(" sip:a@b%zz "); got != "sip:a@b%zz" {
		t.Errorf("bad escape: %q", got)
	}
}
