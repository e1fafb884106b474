// Command expvarcheck replays a script of expvar operations on Go's own expvar package
// and writes what its /debug/vars handler serves, for prism-json's byte comparison
// (expose-json/tests/go_expvar.rs).
//
// The script is a JSON array of operations, read from the file named by PRISM_SCRIPT.
// Strings travel hex-encoded so that they may hold any bytes, invalid UTF-8 included.
// The handler's body goes to stdout, its Content-Type to stderr. os.Args is whatever the
// test passed, so that "cmdline" can be compared too.
package main

import (
	"encoding/hex"
	"encoding/json"
	"expvar"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
)

// Value is a typed JSON value for a Func to return, so that integers stay int64/uint64
// and floats stay float64 as they would in a Go program.
type Value struct {
	T string   `json:"t"`
	B bool     `json:"b"`
	I int64    `json:"i"`
	U uint64   `json:"u"`
	F uint64   `json:"f"` // float64 bits
	S string   `json:"s"` // hex
	A []Value  `json:"a"`
	O []Member `json:"o"`
}

// Member is one key of an object Value.
type Member struct {
	K string `json:"k"` // hex
	V Value  `json:"v"`
}

// Op is one operation of the script.
type Op struct {
	Op   string `json:"op"`
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Key  string `json:"key"` // hex
	I    int64  `json:"i"`
	F    uint64 `json:"f"` // float64 bits
	S    string `json:"s"` // hex
	Ref  string `json:"ref"`
	JV   *Value `json:"jv"`
}

func unhex(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		fail("bad hex %q: %v", s, err)
	}
	return string(b)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "expvarcheck: "+format+"\n", args...)
	os.Exit(2)
}

func build(v Value) any {
	switch v.T {
	case "null":
		return nil
	case "bool":
		return v.B
	case "i64":
		return v.I
	case "u64":
		return v.U
	case "f64":
		return math.Float64frombits(v.F)
	case "str":
		return unhex(v.S)
	case "arr":
		out := make([]any, 0, len(v.A))
		for _, item := range v.A {
			out = append(out, build(item))
		}
		return out
	case "obj":
		out := make(map[string]any, len(v.O))
		for _, m := range v.O {
			out[unhex(m.K)] = build(m.V)
		}
		return out
	}
	fail("unknown value type %q", v.T)
	return nil
}

func main() {
	data, err := os.ReadFile(os.Getenv("PRISM_SCRIPT"))
	if err != nil {
		fail("reading the script: %v", err)
	}
	var ops []Op
	if err := json.Unmarshal(data, &ops); err != nil {
		fail("parsing the script: %v", err)
	}
	vars := map[string]expvar.Var{}
	get := func(id string) expvar.Var {
		v, ok := vars[id]
		if !ok {
			fail("no variable %q", id)
		}
		return v
	}
	for _, op := range ops {
		switch op.Op {
		case "new":
			switch op.Kind {
			case "int":
				vars[op.ID] = new(expvar.Int)
			case "float":
				vars[op.ID] = new(expvar.Float)
			case "string":
				vars[op.ID] = new(expvar.String)
			case "map":
				vars[op.ID] = new(expvar.Map).Init()
			case "func":
				value := build(*op.JV)
				vars[op.ID] = expvar.Func(func() any { return value })
			default:
				fail("unknown kind %q", op.Kind)
			}
		case "publish":
			expvar.Publish(unhex(op.Key), get(op.ID))
		case "int_add":
			get(op.ID).(*expvar.Int).Add(op.I)
		case "int_set":
			get(op.ID).(*expvar.Int).Set(op.I)
		case "float_add":
			get(op.ID).(*expvar.Float).Add(math.Float64frombits(op.F))
		case "float_set":
			get(op.ID).(*expvar.Float).Set(math.Float64frombits(op.F))
		case "string_set":
			get(op.ID).(*expvar.String).Set(unhex(op.S))
		case "map_add":
			get(op.ID).(*expvar.Map).Add(unhex(op.Key), op.I)
		case "map_add_float":
			get(op.ID).(*expvar.Map).AddFloat(unhex(op.Key), math.Float64frombits(op.F))
		case "map_set":
			get(op.ID).(*expvar.Map).Set(unhex(op.Key), get(op.Ref))
		case "map_delete":
			get(op.ID).(*expvar.Map).Delete(unhex(op.Key))
		case "map_init":
			get(op.ID).(*expvar.Map).Init()
		default:
			fail("unknown op %q", op.Op)
		}
	}
	rec := httptest.NewRecorder()
	expvar.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/vars", nil))
	os.Stdout.Write(rec.Body.Bytes())
	fmt.Fprint(os.Stderr, rec.Header().Get("Content-Type"))
}
