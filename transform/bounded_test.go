package transform

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

// hostileTemplates are templates a hostile or careless repository may hold;
// each must be refused quickly, in little memory, naming the limit.
var hostileTemplates = []struct {
	name, text, limit string
}{
	{"until", `{{ range until 2000000000 }}x{{ end }}`, "--max-template-output"},
	{"untilStep", `{{ range untilStep 0 2000000000 1 }}x{{ end }}`, "--max-template-output"},
	{"seq", `{{ seq 2000000000 }}`, "--max-template-output"},
	{"repeat", `{{ repeat 2000000000 "abcdefgh" }}`, "--max-template-output"},
	{"indent", `{{ indent 2000000000 "a" }}`, "--max-template-output"},
	{"replace", `{{ $s := repeat 100000 "a" }}{{ replace "" $s $s }}`, "--max-template-output"},
	{"doubling printf", `{{ $s := "ab" }}{{ range until 64 }}{{ $s = printf "%s%s" $s $s }}{{ end }}{{ $s }}`, "--max-template-output"},
	{"doubling cat", `{{ $s := "ab" }}{{ range until 64 }}{{ $s = cat $s $s }}{{ end }}`, "--max-template-output"},
	{"doubling list", `{{ $l := list 1 }}{{ range until 64 }}{{ $l = concat $l $l }}{{ end }}`, "--max-template-output"},
	{"many small", `{{ range until 40000 }}{{ $x := repeat 1000 "a" }}{{ end }}`, "--max-template-work"},
	{"join", `{{ $s := repeat 1000000 "a" }}{{ $l := list }}{{ range until 3000 }}{{ $l = append $l $s }}{{ end }}{{ join "" $l }}`, "--max-template-"},
	{"output", `{{ range until 40000 }}{{ "0123456789abcdefghijklmnopqrstuvwxyz" }}{{ end }}`, "--max-template-output"},
}

// cpuOnly loop without calling a function or printing: only the time limit
// stops them (through the probes instrument inserts).
var cpuOnly = []struct{ name, text string }{
	{"exponential template", `{{ define "a" }}{{ template "b" }}{{ template "b" }}{{ end }}` +
		`{{ define "b" }}{{ template "c" }}{{ template "c" }}{{ end }}{{ define "c" }}{{ template "d" }}{{ template "d" }}{{ end }}` +
		`{{ define "d" }}{{ range 2000000 }}{{ end }}{{ end }}{{ template "a" }}`},
	{"range int", `{{ range 20000000 }}{{ end }}`},
}

// peakHeap samples the heap until stop is closed and returns its peak.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

func TestBoundedTemplatesTime(t *testing.T) {
	b := Bounds{Time: 100 * time.Millisecond, Output: 1 << 20, Work: 64 << 20}
	for _, tc := range cpuOnly {
		t.Run(tc.name, func(t *testing.T) {
			r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": tmpl(tc.text)}}}
			_, err := BuildContext(t.Context(), r, kvV1(map[string]any{}), b)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "--max-template-time or VAULTCMP_MAX_TEMPLATE_TIME")
		})
	}
}

func TestBoundedTemplates(t *testing.T) {
	// The time limit is far away, so each case must be stopped by the limit
	// it names, however slow the machine (-race, a loaded CI).
	b := Bounds{Time: 10 * time.Minute, Output: 1 << 20, Work: 64 << 20}
	for _, tc := range hostileTemplates {
		t.Run(tc.name, func(t *testing.T) {
			runtime.GC()
			stop := make(chan struct{})
			peak := peakHeap(stop)
			r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": tmpl(tc.text)}}}
			_, err := BuildContext(t.Context(), r, kvV1(map[string]any{"pw": "s3cr3t-value"}), b)
			close(stop)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.limit)
			assert.Contains(t, err.Error(), "VAULTCMP_MAX_TEMPLATE_")
			assert.NotContains(t, err.Error(), "s3cr3t-value")
			assert.Less(t, <-peak, uint64(256<<20), "peak heap")
		})
	}
}

// A template that works with VSO still works within the defaults.
func TestBoundedTemplatesOrdinary(t *testing.T) {
	r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
		"k": tmpl(`{{ range $i := until 3 }}{{ $i }}{{ end }}-{{ printf "%s:%s" "a" (get .Secrets "pw") | b64enc }}-{{ repeat 3 "x" }}-{{ indent 2 "y" }}`)}}}
	out, err := BuildContext(t.Context(), r, kvV1(map[string]any{"pw": "p"}), DefaultBounds())
	require.NoError(t, err)
	assert.Equal(t, "012-YTpw-xxx-  y", string(out["k"]))
}

func TestBoundedTemplatesContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	start := time.Now()
	r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": tmpl(`{{ range 20000000000 }}{{ end }}`)}}}
	_, err := BuildContext(ctx, r, kvV1(map[string]any{}), DefaultBounds())
	require.ErrorIs(t, err, context.Canceled)
	// The loop alone would run for minutes: returning well before shows the
	// cancellation stopped it (the bound is loose for -race and loaded CI).
	assert.Less(t, time.Since(start), 30*time.Second)
	assert.False(t, strings.Contains(err.Error(), "redacted"))
}
