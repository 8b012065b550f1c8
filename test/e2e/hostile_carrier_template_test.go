package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaultcmp/vaultcmp/contract"
)

// Issue 15, rows 4, 6 and 12 (templates) against the real companion: a
// carrier's template that never ends is stopped at the time limit (the
// companion's CPU, its template children's included, stops burning, and it
// keeps serving other carriers), a template that would crash the process
// (a value that contains itself) is refused, and a failing template's
// message and Events say which template of which object failed, never where
// in it (the place was an oracle that read a password).

const hostileTemplatePW = "hunter2-Zq81x-pw"

// templatedVSS is an in-cluster VaultStaticSecret of the secret at
// companion/hostile-tmpl whose destination key "out" is text.
func templatedVSS(name, dest, text string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		b.WriteString("            " + l + "\n")
	}
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: %s
  namespace: webapp-ns
  annotations:
    vaultcmp.io/delivery: in-cluster
spec:
  type: kv-v2
  mount: secret
  path: companion/hostile-tmpl
  vaultAuthRef: vault-auth-k8s
  destination:
    name: %s
    create: true
    transformation:
      excludeRaw: true
      templates:
        out:
          text: |-
%s`, name, dest, b.String())
}

// deploySealed renders files as generate would for this installation (the
// companion's HMAC key, so the carriers' seals verify) and applies them.
// hostile maps a carrier to the template text its contract gets instead of
// the placeholder text "HOSTILE_TEMPLATE" it was rendered with: render runs
// the templates of in-cluster objects too, and would refuse these; the
// contract is re-sealed with the installation's key, as a carrier generate
// let through would be.
func (cw *companionWorld) deploySealed(t testing.TB, files map[string]string, hostile map[string]string) {
	t.Helper()
	objs := cw.render(t, vaultSrv.Addr, files)
	for name, text := range hostile {
		md := find(t, objs, "Secret", name)["metadata"].(map[string]any)
		ann := md["annotations"].(map[string]any)
		quoted, err := json.Marshal(text)
		require.NoError(t, err)
		c := ann[contract.AnnotationContract].(string)
		require.Contains(t, c, `"HOSTILE_TEMPLATE"`, name)
		c = strings.Replace(c, `"HOSTILE_TEMPLATE"`, string(quoted), 1)
		ann[contract.AnnotationContract] = c
		ann[contract.AnnotationSeal] = contract.Seal([]byte(companionHMACKey), "webapp-ns", name, []byte(c))
	}
	applyObjects(t, objs, "webapp-ns", false)
}

// procStat is /proc/<pid>/stat from field 3 (state) on; nil if pid is gone.
func procStat(pid string) []string {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
}

// statField is field n (1-based, as proc(5) counts) of a procStat.
func statField(f []string, n int) int64 {
	v, _ := strconv.ParseInt(f[n-3], 10, 64)
	return v
}

// ownCPU is the CPU time (clock ticks) pid has used itself (utime, stime:
// not its children's).
func ownCPU(t testing.TB, pid int) int64 {
	t.Helper()
	f := procStat(strconv.Itoa(pid))
	require.NotNil(t, f, "the companion process")
	return statField(f, 14) + statField(f, 15)
}

// children are pid's live child processes (the template builds) and the
// age of the oldest.
func children(t testing.TB, pid int) (n int, oldest time.Duration) {
	t.Helper()
	up, err := os.ReadFile("/proc/uptime")
	require.NoError(t, err)
	uptime, err := strconv.ParseFloat(strings.Fields(string(up))[0], 64)
	require.NoError(t, err)
	dirs, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, d := range dirs {
		f := procStat(d.Name())
		if len(f) < 20 || f[1] != strconv.Itoa(pid) || f[0] == "Z" {
			continue
		}
		n++
		age := time.Duration((uptime - float64(statField(f, 22))/100) * float64(time.Second))
		oldest = max(oldest, age)
	}
	return n, oldest
}

func TestHostileCarrierTemplate(t *testing.T) {
	cw := getCompanion(t)
	ctx := t.Context()
	// A companion of its own: a short template time limit, and a backoff
	// long enough that no retry runs while the CPU is measured.
	cw.companion.Kill()
	c, err := cw.startCompanion(ctx, "--max-template-time=2s", "--max-backoff=60s", "--template-builds=1")
	require.NoError(t, err)
	cw.companion = c
	t.Cleanup(func() { cw.restart(t) })
	_, err = vaultSrv.Client.KVv2("secret").Put(ctx, "companion/hostile-tmpl", map[string]any{"pw": hostileTemplatePW})
	require.NoError(t, err)
	carriers := []string{"vaultcmp-vss.tmpl-spin", "vaultcmp-vss.tmpl-oracle", "vaultcmp-vss.tmpl-cycle", "vaultcmp-vss.tmpl-good"}
	t.Cleanup(func() {
		for _, n := range carriers {
			_ = cw.cluster.Admin.CoreV1().Secrets("webapp-ns").Delete(t.Context(), n, metav1.DeleteOptions{})
		}
	})

	cw.deploySealed(t, map[string]string{"spin.yaml": templatedVSS("tmpl-spin", "tmpl-spin-secret", "HOSTILE_TEMPLATE")},
		map[string]string{carriers[0]: `{{ range 100000000000000 }}{{ end }}`})
	message := func(carrier string) string { return carrierAnnotations(t, cw, carrier)["vaultcmp.io/message"] }

	// The never-ending template: stopped at the limit.
	start := time.Now()
	eventually(t, 30*time.Second, func() (bool, string) {
		return strings.Contains(message(carriers[0]), "template-time"), "the time limit in the spinning carrier's message"
	}, cw.companion)
	t.Logf("spinning carrier refused after %s: %s", time.Since(start).Round(time.Millisecond), message(carriers[0]))
	// The companion's own CPU (a goroutine left running the template would
	// burn a core here), and its template processes: none may outlive the
	// limit (2 s, plus 1 s to report it). A retry may start a new one (the
	// backoff is the queue's business); each is bounded the same way.
	before := ownCPU(t, c.Pid())
	const window = 4 * time.Second
	var oldest time.Duration
	for end := time.Now().Add(window); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		_, o := children(t, c.Pid())
		oldest = max(oldest, o)
	}
	cores := float64(ownCPU(t, c.Pid())-before) / 100 / window.Seconds()
	t.Logf("after the limit, over %s: the companion used %.2f cores; the oldest template process was %s old", window, cores, oldest.Round(10*time.Millisecond))
	assert.Less(t, cores, 0.25, "the companion still burns CPU after the limit")
	assert.Less(t, oldest, 3500*time.Millisecond, "a template process outlived the limit")
	assert.Contains(t, cw.events(t, carriers[0]), "template-time")
	require.NoError(t, cw.cluster.Admin.CoreV1().Secrets("webapp-ns").Delete(ctx, carriers[0], metav1.DeleteOptions{}))

	cw.deploySealed(t, map[string]string{
		"oracle.yaml": templatedVSS("tmpl-oracle", "tmpl-oracle-secret", "HOSTILE_TEMPLATE"),
		"cycle.yaml":  templatedVSS("tmpl-cycle", "tmpl-cycle-secret", "HOSTILE_TEMPLATE"),
	}, map[string]string{
		carriers[1]: "line one\n{{ if eq (substr 0 1 (get .Secrets \"pw\")) \"h\" }}{{ fail \"first letter h\" }}{{ end }}\nline three",
		carriers[2]: `{{ $d := dict }}{{ $_ := set $d "self" $d }}{{ $d }}`,
	})

	// The failing template: which template of which object, not where.
	eventually(t, 20*time.Second, func() (bool, string) {
		return strings.Contains(message(carriers[1]), "execution failed"), "the oracle carrier's message"
	}, cw.companion)
	where := regexp.MustCompile(`:\d+:|:\d+\b|line|substr|first letter|at <|executing|` + hostileTemplatePW)
	for what, s := range map[string]string{"message": message(carriers[1]), "events": cw.events(t, carriers[1])} {
		assert.Contains(t, s, `for key "out" of webapp-ns/tmpl-oracle`, what)
		assert.NotRegexp(t, where, s, what)
	}
	assert.Nil(t, cw.secret(t, "tmpl-oracle-secret"), "nothing written for a failed build")

	// The value that contains itself: refused; the companion is alive.
	eventually(t, 20*time.Second, func() (bool, string) {
		return strings.Contains(message(carriers[2]), "contains itself"), "the cycle carrier's message"
	}, cw.companion)
	require.False(t, c.Exited(), "the companion died:\n%s", c.Log())

	// And it keeps serving the others.
	cw.deploySealed(t, map[string]string{"good.yaml": templatedVSS("tmpl-good", "tmpl-good-secret", `{{ get .Secrets "pw" | upper }}`)}, nil)
	s := cw.waitData(t, "tmpl-good-secret", "out", 20*time.Second)
	assert.Equal(t, strings.ToUpper(hostileTemplatePW), string(s.Data["out"]))
	assert.NotContains(t, c.Log(), hostileTemplatePW)
}

// rssAnon is /proc/<pid>/status RssAnon in bytes (0 if pid is gone):
// memory of the process's own, not the binary's shared pages.
func rssAnon(pid string) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "RssAnon:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// treeMemory is the anonymous memory of pid and of its live children.
func treeMemory(pid int) int64 {
	total := rssAnon(strconv.Itoa(pid))
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if f := procStat(d.Name()); len(f) > 2 && f[1] == strconv.Itoa(pid) {
			total += rssAnon(d.Name())
		}
	}
	return total
}

// Sixteen carriers whose templates each hold 7 MB, reconciled at once:
// template memory is --template-builds × a build's, not 16 × (issue 15
// row 7: 16 concurrent template builds took the companion to 337 MiB).
func TestHostileCarrierTemplateMemory(t *testing.T) {
	cw := getCompanion(t)
	ctx := t.Context()
	_, err := vaultSrv.Client.KVv2("secret").Put(ctx, "companion/hostile-tmpl", map[string]any{"pw": hostileTemplatePW})
	require.NoError(t, err)
	var text strings.Builder
	// 7 live values of 1 MB (each charged twice to the work bound: before
	// repeat allocates and after; in the companion it is a quarter of
	// --template-memory, 16 MiB).
	for i := range 7 {
		fmt.Fprintf(&text, `{{ $v%d := repeat 1000000 "%c" }}`, i, 'a'+i)
	}
	// Held for a while (a loop of about a second), so that builds overlap.
	text.WriteString(`{{ range 1000000 }}{{ end }}{{ len $v0 }}{{ len $v6 }}`)
	files, hostile := map[string]string{}, map[string]string{}
	var names []string
	for i := range 16 {
		name := fmt.Sprintf("tmpl-mem-%d", i)
		files[name+".yaml"] = templatedVSS(name, name+"-secret", "HOSTILE_TEMPLATE")
		hostile["vaultcmp-vss."+name] = text.String()
		names = append(names, name)
	}
	t.Cleanup(func() {
		for _, n := range names {
			_ = cw.cluster.Admin.CoreV1().Secrets("webapp-ns").Delete(t.Context(), "vaultcmp-vss."+n, metav1.DeleteOptions{})
		}
	})
	base := treeMemory(cw.companion.Pid())
	stop := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var p int64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			p = max(p, treeMemory(cw.companion.Pid()))
			select {
			case <-stop:
				peak <- p
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	cw.deploySealed(t, files, hostile)
	for _, n := range names {
		s := cw.waitData(t, n+"-secret", "out", 60*time.Second)
		assert.Equal(t, "10000001000000", string(s.Data["out"]))
	}
	close(stop)
	p := <-peak
	t.Logf("16 carriers of 7 MB templates built in %s; anonymous memory of the companion and its template processes: %d MiB before, peak %d MiB",
		time.Since(start).Round(time.Millisecond), base>>20, p>>20)
	// Two builds at a time, each below --template-memory, besides the
	// companion's own (16 at once: about 16 × 25 MiB).
	assert.Less(t, p-base, int64(2*64<<20), "template memory above --template-builds × --template-memory")
}
