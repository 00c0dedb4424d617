package thresholds

import "strings"

// IsValidValue lets go-flags accept a range that starts with a minus sign
// ("-w -5:5") as the option's argument rather than as another option.
func (r *Range) IsValidValue(s string) error {
	if strings.HasPrefix(s, "--") {
		_, err := Parse(s)
		return err
	}
	return nil
}
