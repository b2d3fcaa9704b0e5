package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadIDFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, body string
		want       []int64
		bad        bool
	}{
		{name: "lines.txt", body: "1001\n\n# a comment\n1002\n prospect-sync/1003\n", want: []int64{1001, 1002, 1003}},
		{name: "export.csv", body: "email,id,name\na@x.com,1001,A\nb@x.com,1002,\"B, C\"\n", want: []int64{1001, 1002}},
		{name: "first-column.csv", body: "1001,a@x.com\n1002,b@x.com\n", want: []int64{1001, 1002}},
		{name: "no-id-column.csv", body: "email,name\na@x.com,A\n", bad: true},
		{name: "bad-id.txt", body: "1001\nabc\n", bad: true},
		{name: "negative.txt", body: "-5\n", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readIDFile(write(tt.name, tt.body))
			if tt.bad {
				var u usageError
				if !errors.As(err, &u) {
					t.Fatalf("readIDFile = %v, %v: want a usage error", got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("readIDFile = %v, %v, want %v", got, err, tt.want)
			}
		})
	}
}

func TestRunUsageErrors(t *testing.T) {
	env := func(string) string { return "" }
	for _, args := range [][]string{nil, {"frobnicate"}, {"sync"}, {"sync", "12x"}, {"status"}, {"list", "--state", "Happy"}, {"watch", "--since", "yesterday"}} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut, env)
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("run(%q) = %v, want a usage error (exit 2)", args, err)
		}
	}
}

func TestUnreachableTemporalIsAClearError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil { // nothing may listen there now
		t.Fatal(err)
	}
	t.Setenv("TEMPORAL_ADDRESS", addr)
	var out, errOut bytes.Buffer
	err = run(context.Background(), []string{"sync", "1001"}, &out, &errOut, os.Getenv)
	var u usageError
	if err == nil || errors.As(err, &u) || !strings.Contains(err.Error(), "cannot reach Temporal at "+addr) || !strings.Contains(err.Error(), "go run ./worker") {
		t.Fatalf("err = %v: want a clear 'cannot reach Temporal' error naming the address and the fix", err)
	}
}
