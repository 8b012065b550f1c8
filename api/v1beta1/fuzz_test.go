package v1beta1

import (
	"testing"
	"time"
)

// FuzzDecode: any bytes decode to an object or an error, never a panic, in
// bounded time. Seeds: testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"secrets.hashicorp.com/v1beta1","kind":"VaultStaticSecret","metadata":{"name":"a"},"spec":{"type":"kv-v2","mount":"secret","path":"a","destination":{"name":"a","create":true}}}`))
	f.Add([]byte(`{"apiVersion":"secrets.hashicorp.com/v1beta1","kind":"VaultAuth","metadata":{"name":"a"},"spec":{"method":"appRole","mount":"approle","appRole":{"roleId":"r","secretRef":"s"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		obj, err := Decode(data)
		if err == nil && obj == nil {
			t.Fatal("nil object without an error")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Decode took %s on %d bytes", d, len(data))
		}
	})
}
