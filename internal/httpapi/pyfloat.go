package httpapi

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// pyFloat is a floating-point field (a Django FloatField: a captcha stage's
// score thresholds, the OTP throttling factors), written as authentik writes
// it: Python's json module writes a float as its repr, so 1 is "1.0", 0.5 is
// "0.5", 0.00001 is "1e-05" and 1e16 is "1e+16". Go would write "1", "0.5",
// "0.00001" and "10000000000000000": the same numbers, other bytes.
type pyFloat float64

// MarshalJSON writes f as Python's repr(float) does: the shortest digits
// that read back as f, in positional notation when the decimal exponent is
// in [-4, 16), with ".0" when there is no fractional part, and otherwise in
// scientific notation with a signed exponent of at least two digits.
func (f pyFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		// Python would write NaN or Infinity, which is not JSON (and which
		// DRF's strict renderer refuses). Admission keeps them out.
		return nil, errors.New("httpapi: a float that is not finite has no JSON form")
	}
	return []byte(pyRepr(v)), nil
}

func pyRepr(v float64) string {
	// The shortest digits, as d.ddde±XX.
	e := strconv.FormatFloat(v, 'e', -1, 64)
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
