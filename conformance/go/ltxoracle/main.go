// Command ltxoracle answers questions about LTX files with the Go library superfly/ltx, so the
// TypeScript codec can be checked against it:
//
//	ltxoracle decode FILE...            JSON lines: header, page sha256s, trailer (or error)
//	ltxoracle encode OUT SPEC.json PAGES  encode pages (PAGES: records of u32 BE pgno + page bytes)
//	ltxoracle compact OUT IN...         ltx.Compactor with NoChecksum output, as Litestream runs it
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/superfly/ltx"
)

type pageOut struct {
	Pgno   uint32 `json:"pgno"`
	SHA256 string `json:"sha256"`
}

type decodeOut struct {
	Path   string            `json:"path"`
	Error  string            `json:"error,omitempty"`
	Header map[string]any    `json:"header,omitempty"`
	Pages  []pageOut         `json:"pages,omitempty"`
	Trailer map[string]string `json:"trailer,omitempty"`
}

func decode(path string) decodeOut {
	out := decodeOut{Path: path}
	b, err := os.ReadFile(path)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	dec := ltx.NewDecoder(bytes.NewReader(b))
	if err := dec.DecodeHeader(); err != nil {
		out.Error = "decode header: " + err.Error()
		return out
	}
	h := dec.Header()
	out.Header = map[string]any{
		"flags": h.Flags, "pageSize": h.PageSize, "commit": h.Commit,
		"minTXID": h.MinTXID.String(), "maxTXID": h.MaxTXID.String(), "timestamp": h.Timestamp,
		"preApplyChecksum": fmt.Sprintf("%016x", uint64(h.PreApplyChecksum)),
		"walOffset": h.WALOffset, "walSize": h.WALSize, "walSalt1": h.WALSalt1, "walSalt2": h.WALSalt2,
		"nodeID": fmt.Sprintf("%016x", h.NodeID),
	}
	out.Pages = []pageOut{}
	data := make([]byte, h.PageSize)
	for i := 0; ; i++ {
		var ph ltx.PageHeader
		if err := dec.DecodePage(&ph, data); err == io.EOF {
			break
		} else if err != nil {
			out.Error = fmt.Sprintf("decode page %d: %s", i, err)
			return out
		}
		sum := sha256.Sum256(data)
		out.Pages = append(out.Pages, pageOut{Pgno: ph.Pgno, SHA256: hex.EncodeToString(sum[:])})
	}
	if err := dec.Close(); err != nil {
		out.Error = "close reader: " + err.Error()
		return out
	}
	t := dec.Trailer()
	out.Trailer = map[string]string{
		"postApplyChecksum": fmt.Sprintf("%016x", uint64(t.PostApplyChecksum)),
		"fileChecksum":      fmt.Sprintf("%016x", uint64(t.FileChecksum)),
	}
	return out
}

type spec struct {
	Flags     uint32 `json:"flags"`
	PageSize  uint32 `json:"pageSize"`
	Commit    uint32 `json:"commit"`
	MinTXID   uint64 `json:"minTXID"`
	MaxTXID   uint64 `json:"maxTXID"`
	Timestamp int64  `json:"timestamp"`
	PreApply  string `json:"preApplyChecksum"`
	PostApply string `json:"postApplyChecksum"`
}

func parseHex(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	var v uint64
	_, err := fmt.Sscanf(s, "%x", &v)
	return v, err
}

func encode(outPath, specPath, pagesPath string) error {
	var sp spec
	sb, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(sb, &sp); err != nil {
		return err
	}
	pb, err := os.ReadFile(pagesPath)
	if err != nil {
		return err
	}
	pre, err := parseHex(sp.PreApply)
	if err != nil {
		return err
	}
	post, err := parseHex(sp.PostApply)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc, err := ltx.NewEncoder(&buf)
	if err != nil {
		return err
	}
	if err := enc.EncodeHeader(ltx.Header{Version: ltx.Version, Flags: sp.Flags, PageSize: sp.PageSize, Commit: sp.Commit,
		MinTXID: ltx.TXID(sp.MinTXID), MaxTXID: ltx.TXID(sp.MaxTXID), Timestamp: sp.Timestamp, PreApplyChecksum: ltx.Checksum(pre)}); err != nil {
		return err
	}
	rec := 4 + int(sp.PageSize)
	for off := 0; off+rec <= len(pb); off += rec {
		pgno := binary.BigEndian.Uint32(pb[off:])
		if err := enc.EncodePage(ltx.PageHeader{Pgno: pgno}, pb[off+4:off+rec]); err != nil {
			return err
		}
	}
	enc.SetPostApplyChecksum(ltx.Checksum(post))
	if err := enc.Close(); err != nil {
		return err
	}
	return os.WriteFile(outPath, buf.Bytes(), 0o644)
}

func compact(outPath string, inputs []string) error {
	rdrs := make([]io.Reader, len(inputs))
	for i, p := range inputs {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rdrs[i] = bytes.NewReader(b)
	}
	var buf bytes.Buffer
	c, err := ltx.NewCompactor(&buf, rdrs)
	if err != nil {
		return err
	}
	c.HeaderFlags = ltx.HeaderFlagNoChecksum
	if err := c.Compact(context.Background()); err != nil {
		return err
	}
	return os.WriteFile(outPath, buf.Bytes(), 0o644)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ltxoracle decode FILE... | encode OUT SPEC PAGES | compact OUT IN...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "decode":
		w := json.NewEncoder(os.Stdout)
		for _, p := range os.Args[2:] {
			if err := w.Encode(decode(p)); err != nil {
				panic(err)
			}
		}
	case "encode":
		if len(os.Args) != 5 {
			err = fmt.Errorf("usage: ltxoracle encode OUT SPEC PAGES")
		} else {
			err = encode(os.Args[2], os.Args[3], os.Args[4])
		}
	case "compact":
		if len(os.Args) < 4 {
			err = fmt.Errorf("usage: ltxoracle compact OUT IN...")
		} else {
			err = compact(os.Args[2], os.Args[3:])
		}
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ltxoracle:", err)
		os.Exit(1)
	}
}
