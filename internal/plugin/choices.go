package plugin

import (
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	flags "github.com/jessevdk/go-flags"
)

// canonicalChoices checks the values of the options declared with
// go-flags choice tags before go-flags does: a value is accepted in any
// letter case and replaced by the choice as declared ("CRITICAL" becomes
// "critical"), and any other value is refused with a message in the
// suite's words ("invalid --timeout-state "ok": expected unknown or
// critical"). go-flags' own check, exact and worded its own way, then
// only ever sees declared values. The walk follows go-flags' syntax:
// --name=value, --name value, -xvalue, -x value, clustered short flags,
// and nothing after "--".
//
// It also returns the first option given an empty value (--pidfile "",
// --status-url=, -w ""): no option of the suite takes one, and the
// string options would otherwise read it as "not given" and be ignored.
// The caller refuses it once go-flags has parsed the rest, so that
// option types with their own message for an empty value keep it.
func canonicalChoices(p *flags.Parser, args []string) (out []string, empty *flags.Option, err error) {
	out = slices.Clone(args)
	// set checks the value at out[i] (its part after prefix) for o.
	set := func(o *flags.Option, i int, prefix string) error {
		if out[i] == prefix && empty == nil {
			empty = o
		}
		v, err := choose(o, out[i][len(prefix):])
		if err == nil {
			out[i] = prefix + v
		}
		return err
	}
	for i := 0; i < len(out); i++ {
		a := out[i]
		switch {
		case a == "--":
			return out, empty, nil
		case strings.HasPrefix(a, "--"):
			name, _, eq := strings.Cut(a[2:], "=")
			o := p.FindOptionByLongName(name)
			switch {
			case o == nil || !takesValue(o):
			case eq:
				if err := set(o, i, "--"+name+"="); err != nil {
					return nil, nil, err
				}
			case i+1 < len(out):
				i++
				if err := set(o, i, ""); err != nil {
					return nil, nil, err
				}
			}
		case len(a) > 1 && a[0] == '-':
			for j, r := range a[1:] {
				o := p.FindOptionByShortName(r)
				if o == nil {
					break // go-flags reports the unknown flag
				}
				if !takesValue(o) {
					continue
				}
				if at := 1 + j + utf8.RuneLen(r); at < len(a) {
					if err := set(o, i, a[:at]); err != nil {
						return nil, nil, err
					}
				} else if i+1 < len(out) {
					i++
					if err := set(o, i, ""); err != nil {
						return nil, nil, err
					}
				}
				break
			}
		}
	}
	return out, empty, nil
}

// emptyValueError refuses an empty value given to o.
func emptyValueError(o *flags.Option) error {
	what := o.ValueName
	if what == "" {
		what = "a value"
	}
	return OptionError("invalid --%s \"\": expected %s, not an empty value", o.LongName, what)
}

// choose returns the declared choice v stands for, ignoring case.
func choose(o *flags.Option, v string) (string, error) {
	if len(o.Choices) == 0 {
		return v, nil
	}
	for _, c := range o.Choices {
		if strings.EqualFold(c, v) {
			return c, nil
		}
	}
	return "", OptionError("invalid --%s %q: expected %s", o.LongName, Clip(v, 40), OrList(o.Choices))
}

// takesValue reports whether an option takes an argument (is not a
// boolean flag), as go-flags decides it.
func takesValue(o *flags.Option) bool {
	t := o.Field().Type
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() != reflect.Bool
}

// OrList joins values as "a, b or c", the way the suite's messages list
// what is expected.
func OrList(vals []string) string {
	if len(vals) < 2 {
		return strings.Join(vals, "")
	}
	return strings.Join(vals[:len(vals)-1], ", ") + " or " + vals[len(vals)-1]
}

// describeChoices writes each option's choices into its description, for
// --help and the man page: go-flags' help puts them after the option
// name, where a long list (check_mongodb's modes) pushes every
// description off the screen, and its man page leaves them out. Only for
// output after parsing: the option no longer checks its choices.
func describeChoices(p *flags.Parser) {
	for _, g := range p.Groups() {
		for _, o := range g.Options() {
			if len(o.Choices) > 0 {
				o.Description = strings.TrimSpace(o.Description+" (one of "+strings.Join(o.Choices, ", ")) + ")"
				o.Choices = nil
			}
		}
	}
}
