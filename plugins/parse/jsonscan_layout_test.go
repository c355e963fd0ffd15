package parse

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Messages read in one batch, where the scanner learns a layout from one
// message and tries it on the next, give the rows and reasons each gives
// read alone by a fresh parser (which has no layout): every way a message
// can differ from the layout before it falls back to the general scanner,
// and leaves no partial row behind.
func TestJSONLayoutEqualsGeneral(t *testing.T) {
	fieldSets := map[string][]Field{
		"event": eventFields,
		"required device and long names": {
			fld("user_id", tInt, true), fld("action", tStr, true), fld("ts", tTS, true, "ms"),
			fld("device", tStr, true), fld("a_long_name", tInt, false), fld("another_long", tStr, false),
		},
		"nested and shared keys": {
			fld("user_id", tInt, true), fld("uid", tStr, false, "user_id"), fld("action", tStr, true),
			fld("ts", tTS, true, "ms"), fld("city", tStr, false, "geo.city"),
		},
	}
	template := `{"user_id":81,"action":"view","ts":1714564795905,"device":"web"}`
	variants := []string{
		template,
		`{"user_id":82,"action":"click","ts":1714564795906,"device":"ios"}`,
		`{"user_id":83,"action":"click","ts":1714564795907}`,
		`{"user_id":84,"action":"click","ts":1714564795908,"device":null}`,
		`{"user_id":85,"action":"cl\"ick","ts":1714564795909,"device":"ios"}`,
		`{"user_id":86,"action":"clé","ts":1714564795910,"device":"ios"}`,
		`{"user_id":87, "action":"click","ts":1714564795911,"device":"ios"}`,
		`{"user_id":88,"action":"click","ts":1714564795912,"device":"ios"} `,
		`{"user_id":89,"action":"click","ts":1714564795913,"device":"ios"}x`,
		`{"user_id":90,"action":"click","ts":1714564795914,"device":"ios"`,
		`{"user_id":91,"action":"click","ts":1714564795915,"device":"ios",}`,
		`{"user_id":92,"action":"click","ts":1714564795916,"device":"ios","x":1}`,
		`{"action":"click","user_id":93,"ts":1714564795917,"device":"ios"}`,
		`{"user_id":94,"action":"click","ts":1714564795918.5,"device":"ios"}`,
		`{"user_id":95,"action":"click","ts":17145647959e2,"device":"ios"}`,
		`{"user_id":096,"action":"click","ts":1714564795919,"device":"ios"}`,
		`{"user_id":-97,"action":"click","ts":-1714564795920,"device":"ios"}`,
		`{"user_id":1234567890123456,"action":"click","ts":1714564795921,"device":"ios"}`,
		`{"user_id":"98","action":"click","ts":1714564795922,"device":"ios"}`,
		`{"user_id":99,"action":7,"ts":1714564795923,"device":"ios"}`,
		`{"user_id":100,"action":"click","ts":1714564795924,"device":"ios","device":"web"}`,
		`{"user_id":101,"action":"click","ts":1714564795925,"device":"io` + "\x01" + `s"}`,
		`{"user_id":102,"action":"click","ts":1714564795926,"device":"io` + "\xff" + `s"}`,
		`{"user_id":103,"action":"","ts":0,"device":""}`,
		`{"user_id":104,"action":"click","ts":1714564795927,"device":"ios","a_long_name":5,"another_long":"x"}`,
		`{"user_id":105,"action":"click","ts":1714564795928,"device":"ios","geo":{"city":"Oslo"}}`,
		`{"user_id":-,"action":"click","ts":1714564795929,"device":"ios"}`,
		`{"user_id":106,"action":"click","ts":1714564795930,"devicf":"ios"}`,
		`{"user_i":107,"action":"click","ts":1714564795931,"device":"ios"}`,
		`{"user_id":108,"action":"click","ts":1714564795932,"device":"ios"}` + "\n",
		`{}`,
		``,
	}
	for _, rest := range []int{0, layoutRest} {
		for name, fields := range fieldSets {
			t.Run(fmt.Sprintf("%s, rest %d", name, rest), func(t *testing.T) {
				testLayout(t, fields, variants, template, rest)
			})
		}
	}
}

// testLayout checks variants, after the template and after each other,
// with a parser whose layouts rest for rest messages after failing.
func testLayout(t *testing.T, fields []Field, variants []string, template string, rest int) {
	// Each variant after the template (which sets the layout), then
	// every variant after every other.
	var msgs []string
	for _, v := range variants {
		msgs = append(msgs, template, v)
	}
	for _, a := range variants {
		for _, b := range variants {
			msgs = append(msgs, a, b)
		}
	}
	j := &JSON{Fields: fields}
	j.once.Do(func() { j.plan = newJSONPlan(j.Fields) })
	j.plan.layoutRest = rest
	got := runParse(t, j.Output(), j.Parse, msgs...)
	var want parseResult
	for i, m := range msgs {
		alone := &JSON{Fields: fields}
		r := runParse(t, alone.Output(), alone.Parse, m)
		want.rows = append(want.rows, r.rows...)
		for _, b := range r.bad {
			want.bad = append(want.bad, fmt.Sprintf("%d%s", i, strings.TrimPrefix(b, "0")))
		}
	}
	if !reflect.DeepEqual(got.rows, want.rows) {
		for i := range min(len(got.rows), len(want.rows)) {
			if got.rows[i] != want.rows[i] {
				t.Fatalf("row %d: got %q, want %q", i, got.rows[i], want.rows[i])
			}
		}
		t.Fatalf("%d rows, want %d", len(got.rows), len(want.rows))
	}
	if !reflect.DeepEqual(got.bad, want.bad) {
		t.Errorf("bad:\n got %q\nwant %q", got.bad, want.bad)
	}
}
