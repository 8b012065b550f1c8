package sidecar

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// health runs health.lua as Argo CD runs a resource health check: with
// gopher-lua, only the safe libraries open, the object as the global obj,
// and the returned table read as {status, message}.
func health(t *testing.T, obj map[string]any) (status, message string) {
	t.Helper()
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
	} {
		l.Push(l.NewFunction(lib.open))
		l.Push(lua.LString(lib.name))
		l.Call(1, 0)
	}
	l.SetGlobal("obj", luaValue(l, obj))
	require.NoError(t, l.DoString(string(read(t, "health.lua"))))
	hs, ok := l.Get(-1).(*lua.LTable)
	require.True(t, ok, "health.lua returns a table, got %s", l.Get(-1).Type())
	st, _ := hs.RawGetString("status").(lua.LString)
	msg, _ := hs.RawGetString("message").(lua.LString)
	return string(st), string(msg)
}

// luaValue is Argo CD's decodeValue: maps become tables, slices arrays.
func luaValue(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case map[string]any:
		t := l.NewTable()
		for k, e := range v {
			t.RawSetString(k, luaValue(l, e))
		}
		return t
	case []any:
		t := l.NewTable()
		for _, e := range v {
			t.Append(luaValue(l, e))
		}
		return t
	}
	panic("luaValue: unexpected type")
}

func TestHealthLuaClassifies(t *testing.T) {
	carrier := func(ann map[string]any) map[string]any {
		md := map[string]any{"name": "vaultcmp-vds.db", "namespace": "app"}
		if ann != nil {
			md["annotations"] = ann
		}
		return map[string]any{"apiVersion": "v1", "kind": "Secret", "type": "vaultcmp.io/contract-v1", "metadata": md}
	}
	tests := []struct {
		name        string
		obj         map[string]any
		status, msg string
	}{
		{"carrier not yet filled, no annotations", carrier(nil), "Progressing", "Waiting for the vaultcmp companion"},
		{"carrier with only the contract", carrier(map[string]any{"vaultcmp.io/contract": "{}"}), "Progressing", "Waiting for the vaultcmp companion"},
		{"carrier with an unknown status", carrier(map[string]any{"vaultcmp.io/status": "Renewing"}), "Progressing", "Waiting for the vaultcmp companion"},
		{"carrier filled", carrier(map[string]any{"vaultcmp.io/status": "Synced"}), "Healthy", "Filled by the vaultcmp companion"},
		{"carrier filled, with message", carrier(map[string]any{"vaultcmp.io/status": "Synced", "vaultcmp.io/message": "lease renewed"}), "Healthy", "lease renewed"},
		{"carrier failing, with message", carrier(map[string]any{"vaultcmp.io/status": "Error", "vaultcmp.io/message": "permission denied on database/creds/ro"}), "Degraded", "permission denied on database/creds/ro"},
		{"carrier failing, no message", carrier(map[string]any{"vaultcmp.io/status": "Error"}), "Degraded", "The vaultcmp companion could not fill the Secret"},
		{"carrier without metadata", map[string]any{"kind": "Secret", "type": "vaultcmp.io/contract-v1"}, "Progressing", "Waiting for the vaultcmp companion"},
		{"plain Secret", map[string]any{"kind": "Secret", "type": "Opaque", "metadata": map[string]any{"name": "x", "annotations": map[string]any{"vaultcmp.io/status": "Error"}}}, "Healthy", ""},
		{"Secret without type", map[string]any{"kind": "Secret", "metadata": map[string]any{"name": "x"}}, "Healthy", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, msg := health(t, tc.obj)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.msg, msg)
		})
	}
}
