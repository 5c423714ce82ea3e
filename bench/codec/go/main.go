// Command ltxbench times the Go LTX library (superfly/ltx v0.5.2, what Litestream v0.5.16 links)
// on the same inputs ltxkit's benchmark uses. Each call runs one kernel once and prints JSON:
// {"kernel", "bytes", "seconds", "maxrss_kb"}.
//
//	ltxbench encode DB OUT     snapshot of a SQLite file (NoChecksum, block pages)
//	ltxbench decode FILE       decode + verify
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
	"syscall"
	"time"

	"github.com/superfly/ltx"
)

func maxRSS() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss
}

func out(kernel string, n int64, d time.Duration) {
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"kernel": kernel, "bytes": n, "seconds": d.Seconds(), "maxrss_kb": maxRSS()})
}

func encode(dbPath, outPath string) error {
	f, err := os.Open(dbPath)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := make([]byte, 100)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return err
	}
	pageSize := uint32(binary.BigEndian.Uint16(hdr[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	st, _ := f.Stat()
	commit := uint32(st.Size() / int64(pageSize))
	if _, err := f.Seek(0, 0); err != nil {
		return err
	}
	w, err := os.Create(outPath)
	if err != nil {
		return err
	}
	defer w.Close()
	bw := bufio.NewWriterSize(w, 1<<20)
	start := time.Now()
	enc, err := ltx.NewEncoder(bw)
	if err != nil {
		return err
	}
	if err := enc.EncodeHeader(ltx.Header{Version: ltx.Version, Flags: ltx.HeaderFlagNoChecksum, PageSize: pageSize, Commit: commit, MinTXID: 1, MaxTXID: 1, Timestamp: time.Now().UnixMilli()}); err != nil {
		return err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	page := make([]byte, pageSize)
	lock := ltx.LockPgno(pageSize)
	for pgno := uint32(1); pgno <= commit; pgno++ {
		if _, err := io.ReadFull(br, page); err != nil {
			return err
		}
		if pgno == lock {
			continue
		}
		if err := enc.EncodePage(ltx.PageHeader{Pgno: pgno}, page); err != nil {
			return err
		}
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	out("encode", int64(commit)*int64(pageSize), time.Since(start))
	return nil
}

func decode(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	start := time.Now()
	dec := ltx.NewDecoder(bytes.NewReader(b))
	if err := dec.Verify(); err != nil {
		return err
	}
	h := dec.Header()
	out("decode", int64(dec.PageN())*int64(h.PageSize), time.Since(start))
	return nil
}

func crc(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	t := crc64.MakeTable(crc64.ISO)
	start := time.Now()
	sum := crc64.Checksum(b, t)
	d := time.Since(start)
	fmt.Fprintf(os.Stderr, "%016x\n", sum)
	out("crc64", int64(len(b)), d)
	return nil
}

func main() {
	var err error
	switch {
	case len(os.Args) == 4 && os.Args[1] == "encode":
		err = encode(os.Args[2], os.Args[3])
	case len(os.Args) == 3 && os.Args[1] == "decode":
		err = decode(os.Args[2])
	case len(os.Args) == 3 && os.Args[1] == "crc64":
		err = crc(os.Args[2])
	default:
		err = fmt.Errorf("usage: ltxbench encode DB OUT | decode FILE | crc64 FILE")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ltxbench:", err)
		os.Exit(1)
	}
}
