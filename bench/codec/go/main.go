// Command ltxbench times the Go LTX library (superfly/ltx v0.5.2, what Litestream v0.5.16 links)
// on the same inputs ltxkit's benchmark uses. Each call runs one kernel once to warm up, then
// again and again until LTXKIT_BENCH_SECONDS (default 0: no further runs) have passed, and prints
// JSON: {"kernel", "bytes", "seconds", "runs", "cold_seconds", "cpu_seconds", "maxrss_kb"}, where
// bytes, seconds and cpu_seconds (user + system, all threads) sum the runs after the first (the first run's alone
// when there are none).
//
//	ltxbench encode DB OUT     snapshot of a SQLite file (NoChecksum, block pages)
//	ltxbench decode FILE       decode + verify of a file held in memory
//	ltxbench crc64 FILE        CRC-64/ISO of a file held in memory
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/superfly/ltx"
)

// cpuSeconds is the user and system CPU time of this process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func maxRSS() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss
}

// repeat runs one kernel (returning its bytes and time) as the header says and prints the result.
func repeat(kernel string, run func() (int64, time.Duration, error)) error {
	minSeconds, _ := strconv.ParseFloat(os.Getenv("LTXKIT_BENCH_SECONDS"), 64)
	c0 := cpuSeconds()
	n, cold, err := run()
	if err != nil {
		return err
	}
	coldCPU := cpuSeconds() - c0
	var bytes int64
	var d time.Duration
	cpu := 0.0
	runs := 0
	for d.Seconds() < minSeconds {
		c0 := cpuSeconds()
		m, t, err := run()
		if err != nil {
			return err
		}
		cpu += cpuSeconds() - c0
		bytes += m
		d += t
		runs++
	}
	if runs == 0 {
		bytes, d, cpu = n, cold, coldCPU
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"kernel": kernel, "bytes": bytes, "seconds": d.Seconds(), "runs": runs, "cold_seconds": cold.Seconds(), "cpu_seconds": cpu, "maxrss_kb": maxRSS()})
}

func encode(dbPath, outPath string) (int64, time.Duration, error) {
	f, err := os.Open(dbPath)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	hdr := make([]byte, 100)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return 0, 0, err
	}
	pageSize := uint32(binary.BigEndian.Uint16(hdr[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	st, _ := f.Stat()
	commit := uint32(st.Size() / int64(pageSize))
	if _, err := f.Seek(0, 0); err != nil {
		return 0, 0, err
	}
	w, err := os.Create(outPath)
	if err != nil {
		return 0, 0, err
	}
	defer w.Close()
	bw := bufio.NewWriterSize(w, 1<<20)
	start := time.Now()
	enc, err := ltx.NewEncoder(bw)
	if err != nil {
		return 0, 0, err
	}
	if err := enc.EncodeHeader(ltx.Header{Version: ltx.Version, Flags: ltx.HeaderFlagNoChecksum, PageSize: pageSize, Commit: commit, MinTXID: 1, MaxTXID: 1, Timestamp: time.Now().UnixMilli()}); err != nil {
		return 0, 0, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	page := make([]byte, pageSize)
	lock := ltx.LockPgno(pageSize)
	for pgno := uint32(1); pgno <= commit; pgno++ {
		if _, err := io.ReadFull(br, page); err != nil {
			return 0, 0, err
		}
		if pgno == lock {
			continue
		}
		if err := enc.EncodePage(ltx.PageHeader{Pgno: pgno}, page); err != nil {
			return 0, 0, err
		}
	}
	if err := enc.Close(); err != nil {
		return 0, 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, 0, err
	}
	return int64(commit) * int64(pageSize), time.Since(start), nil
}

func decode(b []byte) (int64, time.Duration, error) {
	start := time.Now()
	dec := ltx.NewDecoder(bytes.NewReader(b))
	if err := dec.Verify(); err != nil {
		return 0, 0, err
	}
	d := time.Since(start)
	h := dec.Header()
	return int64(dec.PageN()) * int64(h.PageSize), d, nil
}

func crc(b []byte) (int64, time.Duration, error) {
	t := crc64.MakeTable(crc64.ISO)
	start := time.Now()
	sum := crc64.Checksum(b, t)
	d := time.Since(start)
	fmt.Fprintf(os.Stderr, "%016x\n", sum)
	return int64(len(b)), d, nil
}

func main() {
	var err error
	switch {
	case len(os.Args) == 4 && os.Args[1] == "encode":
		err = repeat("encode", func() (int64, time.Duration, error) { return encode(os.Args[2], os.Args[3]) })
	case len(os.Args) == 3 && os.Args[1] == "decode":
		var b []byte
		if b, err = os.ReadFile(os.Args[2]); err == nil {
			err = repeat("decode", func() (int64, time.Duration, error) { return decode(b) })
		}
	case len(os.Args) == 3 && os.Args[1] == "crc64":
		var b []byte
		if b, err = os.ReadFile(os.Args[2]); err == nil {
			err = repeat("crc64", func() (int64, time.Duration, error) { return crc(b) })
		}
	default:
		err = fmt.Errorf("usage: ltxbench encode DB OUT | decode FILE | crc64 FILE")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ltxbench:", err)
		os.Exit(1)
	}
}
