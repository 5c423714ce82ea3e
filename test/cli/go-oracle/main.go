// Oracle for test/cli/config.test.ts: Go's own os.Expand, time.ParseDuration,
// time.Duration.String and filepath.Match on the inputs given as JSON on stdin.
package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

type input struct {
	Expand    []string    `json:"expand"`
	Env       map[string]string `json:"env"`
	Durations []string    `json:"durations"`
	Format    []int64     `json:"format"`
	Match     [][2]string `json:"match"`
}

type parsed struct {
	Ok bool    `json:"ok"`
	Ns int64   `json:"ns"`
}

type matched struct {
	Ok      bool `json:"ok"`
	Matched bool `json:"matched"`
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		panic(err)
	}
	out := struct {
		Expand    []string  `json:"expand"`
		Durations []parsed  `json:"durations"`
		Format    []string  `json:"format"`
		Match     []matched `json:"match"`
	}{}
	for _, s := range in.Expand {
		out.Expand = append(out.Expand, os.Expand(s, func(k string) string { return in.Env[k] }))
	}
	for _, s := range in.Durations {
		d, err := time.ParseDuration(s)
		out.Durations = append(out.Durations, parsed{Ok: err == nil, Ns: int64(d)})
	}
	for _, ns := range in.Format {
		out.Format = append(out.Format, time.Duration(ns).String())
	}
	for _, m := range in.Match {
		ok, err := filepath.Match(m[0], m[1])
		out.Match = append(out.Match, matched{Ok: err == nil, Matched: ok})
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
