package python

import (
	"math"
	"strconv"
	"testing"
)

// TestFloat: Python's str (and repr) of each float, as Python 3 prints it
// (python3 -c 'print(str(1234567.5))', and so on).
func TestFloat(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{-3, "-3.0"},
		{0.1, "0.1"},
		{0.5, "0.5"},
		{100, "100.0"},
		{123.456, "123.456"},
		{0.30000000000000004, "0.30000000000000004"},
		{1234567.5, "1234567.5"},
		{1e6, "1000000.0"},
		{0.001, "0.001"},
		{0.0001, "0.0001"},
		{1e-5, "1e-05"},
		{0.000012345, "1.2345e-05"},
		{1e15, "1000000000000000.0"},
		{1234567890123456, "1234567890123456.0"},
		{1e16, "1e+16"},
		{1e22, "1e+22"},
		{12345678901234567890.0, "1.2345678901234567e+19"},
		{1e100, "1e+100"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{math.NaN(), "nan"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
	} {
		got := Float(tc.f)
		if got != tc.want {
			t.Errorf("Float(%g) = %q, want %q", tc.f, got, tc.want)
		}
		if back, err := strconv.ParseFloat(got, 64); err != nil || (back != tc.f && !math.IsNaN(tc.f)) || math.Signbit(back) != math.Signbit(tc.f) {
			t.Errorf("%q reads back as %g, %v", got, back, err)
		}
	}
}
