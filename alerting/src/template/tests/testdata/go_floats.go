// Writes go_floats.tsv: Go's fmt.Sprintf of each float under each verb (verb, float bits, text).
// Run with: go run go_floats.go > go_floats.tsv
//go:build ignore

package main

import (
	"fmt"
	"math"
	"math/rand"
)

func main() {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 0.5, 1.5, 2.5, 3.5, 1e21, 1e20, 1e-7, 1e-5, 1e-4, 5e-324, math.MaxFloat64, 2.2250738585072014e-308,
		1.0 / 3, 2.0 / 3, 123456789, 1e15 + 0.3, 0.125, 0.375, 2.675, 1.005, 1e23, 9007199254740993, 100, 1e6, 123456, 1234567, 0.3, 0.7, 99.5, 999999.5, 0.000123456,
		1353755652, 1435065584.128, 0.05, 0.15, 0.25, 0.35, 1e100, 1.7976931348623157e308, 4.35, 8.345, 1e-300, 6.02214076e23, math.Pi, math.E, 1e9, 15.1, -22.22, 1e-10}
	r := rand.New(rand.NewSource(42))
	for i := 0; i < 110; i++ {
		m := r.Float64()*10 - 5
		e := r.Intn(60) - 30
		v := m * math.Pow(10, float64(e))
		if i%3 == 0 {
			v = math.Float64frombits(r.Uint64() &^ (0x7ff << 52) | (uint64(r.Intn(2046)+1) << 52))
		}
		vals = append(vals, v)
	}
	verbs := []string{"%v", "%.3g", "%.4g", "%e", "%.2e", "%f", "%.2f", "%.0f", "%g", "%.10g", "%x", "%8.3f", "%+.3e", "%G", "%.1f", "%#g", "%b"}
	for _, v := range vals {
		for _, verb := range verbs {
			fmt.Printf("%s\t%016x\t%s\n", verb, math.Float64bits(v), fmt.Sprintf(verb, v))
		}
	}
}
