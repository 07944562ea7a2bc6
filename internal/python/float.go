// Package python writes values as authentik's Python writes them, for the
// parts of stagehand that must match its bytes: the API's JSON bodies and
// the importer's evaluation of blueprint tags (!Format).
package python

import (
	"math"
	"strconv"
	"strings"
)

// Float is Python's str(f), which is also its repr(f) and what its json
// module writes for a finite float: the shortest digits that read back as
// f, in positional notation when the decimal exponent is in [-4, 16), with
// ".0" when there is no fractional part, and otherwise in scientific
// notation with a signed exponent of at least two digits. So 1 is "1.0",
// 1234567.5 is "1234567.5", 0.00001 is "1e-05" and 1e16 is "1e+16", where
// Go would write "1", "1.2345675e+06" (%g), "1e-05" and "1e+16". The values
// that are not finite are "nan", "inf" and "-inf".
func Float(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	// The shortest digits, as d.ddde±XX.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mantissa, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	sign := ""
	if strings.HasPrefix(mantissa, "-") {
		sign, mantissa = "-", mantissa[1:]
	}
	digits := strings.Replace(mantissa, ".", "", 1)
	var b strings.Builder
	b.WriteString(sign)
	switch {
	case exp < -4 || exp >= 16:
		b.WriteString(digits[:1])
		if len(digits) > 1 {
			b.WriteString("." + digits[1:])
		}
		b.WriteString("e")
		if exp < 0 {
			b.WriteString("-")
			exp = -exp
		} else {
			b.WriteString("+")
		}
		if exp < 10 {
			b.WriteString("0")
		}
		b.WriteString(strconv.Itoa(exp))
	case exp < 0:
		b.WriteString("0." + strings.Repeat("0", -exp-1) + digits)
	case len(digits) <= exp+1:
		b.WriteString(digits + strings.Repeat("0", exp+1-len(digits)) + ".0")
	default:
		b.WriteString(digits[:exp+1] + "." + digits[exp+1:])
	}
	return b.String()
}
