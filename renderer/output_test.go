package renderer

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingWriter records every Write, so a test sees whether anything at
// all reached it.
type countingWriter struct {
	writes int
	buf    bytes.Buffer
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.buf.Write(p)
}

// unencodable is a value yaml.v3 fails to encode.
type unencodable struct{}

func (unencodable) MarshalYAML() (any, error) { return nil, errors.New("cannot encode") }

// manyConfigMaps are n valid objects, enough to span many writes.
func manyConfigMaps(n int) []map[string]any {
	objs := make([]map[string]any, n)
	for i := range objs {
		objs[i] = map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": fmt.Sprintf("cm%04d", i)}}
	}
	return objs
}

func TestOutputFailsClosed(t *testing.T) {
	// An object yaml.v3 cannot encode, at the end and in the middle: the
	// writer must see nothing, however many documents before it encoded.
	bad := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "bad"}, "data": map[string]any{"x": unencodable{}}}
	for _, tc := range []struct {
		name string
		objs []map[string]any
	}{
		{"late failure", append(manyConfigMaps(500), bad)},
		{"failure in the middle", append(append(manyConfigMaps(250), bad), manyConfigMaps(250)...)},
		{"only failure", []map[string]any{bad}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w countingWriter
			err := WriteYAML(&w, tc.objs)
			require.Error(t, err)
			assert.Contains(t, err.Error(), fmt.Sprintf("encoding object %d", len(tc.objs)-1-indexFromEnd(tc.objs, bad)))
			assert.Zero(t, w.writes, "nothing may be written when an object fails to encode")

			res := &Result{Objects: tc.objs}
			out, err := res.Encode()
			require.Error(t, err)
			assert.Nil(t, out)
		})
	}
}

// indexFromEnd is how far from the end of objs the object o is.
func indexFromEnd(objs []map[string]any, o map[string]any) int {
	for i := len(objs) - 1; i >= 0; i-- {
		if fmt.Sprintf("%p", objs[i]) == fmt.Sprintf("%p", o) {
			return len(objs) - 1 - i
		}
	}
	return -1
}

func TestOutputStreamsTheSameBytes(t *testing.T) {
	objs := manyConfigMaps(300)
	// Some documents encoded ahead (as Render does while Vault reads are in flight).
	pre := make([][]byte, len(objs))
	for i := 0; i < len(objs); i += 3 {
		var err error
		pre[i], err = encodeObject(objs[i])
		require.NoError(t, err)
	}
	res := &Result{Objects: objs, encoded: pre}
	out, err := res.Encode()
	require.NoError(t, err)

	var streamed countingWriter
	n, err := out.WriteTo(&streamed)
	require.NoError(t, err)
	assert.Equal(t, len(objs), streamed.writes, "one write per document, no joined copy")
	assert.Equal(t, out.Len(), n)
	assert.Equal(t, int64(streamed.buf.Len()), out.Len())

	var whole bytes.Buffer
	for _, o := range objs {
		d, err := encodeObject(o)
		require.NoError(t, err)
		whole.Write(d)
	}
	assert.Equal(t, whole.String(), streamed.buf.String(), "streamed bytes are the documents in input order")
}
