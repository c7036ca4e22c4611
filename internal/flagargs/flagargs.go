// Package flagargs parses command lines whose options may come before,
// between or after the positional arguments ("xcap-icon GET -f me.png",
// "sipbuddy art me.png --size 32x16"): the standard flag package stops at
// the first positional argument.
package flagargs

import "flag"

// Parse parses args with fs, options anywhere among the positional
// arguments, and returns the positional arguments in order. The error is
// fs.Parse's (flag.ErrHelp after -h; fs has already printed its usage).
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
