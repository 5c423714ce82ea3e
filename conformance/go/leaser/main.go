// Command leaser drives Litestream v0.5.16's S3 leaser (github.com/benbjohnson/litestream/s3.Leaser)
// against an S3 endpoint, so the lease cross-read test (conformance/lease-go.test.ts) can check that
// Go's leaser and ltxkit's read each other's lock.json.
//
//	leaser acquire -bucket B -path P [-ttl 3s]
//	leaser renew   -bucket B -path P -generation N -etag E [-ttl 3s]
//	leaser release -bucket B -path P -generation N -etag E
//
// Endpoint and credentials: LTXKIT_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_REGION. Prints one JSON line: the lease ({"ok":true,"generation",...,"etag"}) or the error
// ({"ok":false,"error",...} with "owner"/"expires_at" for a LeaseExistsError, "not_held" for
// ErrLeaseNotHeld). The owner is Go's default, <hostname>:<pid>.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/benbjohnson/litestream"
	lss3 "github.com/benbjohnson/litestream/s3"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: leaser acquire|renew|release -bucket B -path P ...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	bucket := fs.String("bucket", "", "")
	path := fs.String("path", "", "")
	ttl := fs.Duration("ttl", lss3.DefaultLeaseTTL, "")
	generation := fs.Int64("generation", 0, "")
	etag := fs.String("etag", "", "")
	_ = fs.Parse(os.Args[2:])

	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), "")}
	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		o.BaseEndpoint = aws.String(os.Getenv("LTXKIT_S3_ENDPOINT"))
		o.UsePathStyle = true
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	l := lss3.NewLeaser()
	l.SetClient(client)
	l.Bucket, l.Path, l.TTL = *bucket, *path, *ttl

	ctx := context.Background()
	var lease *litestream.Lease
	var err error
	switch os.Args[1] {
	case "acquire":
		lease, err = l.AcquireLease(ctx)
	case "renew":
		lease, err = l.RenewLease(ctx, &litestream.Lease{Generation: *generation, ETag: *etag})
	case "release":
		err = l.ReleaseLease(ctx, &litestream.Lease{Generation: *generation, ETag: *etag})
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
	out := map[string]any{"ok": err == nil, "owner_self": l.Owner}
	if lease != nil {
		out["generation"], out["expires_at"], out["owner"], out["etag"] = lease.Generation, lease.ExpiresAt.UTC().Format(time.RFC3339Nano), lease.Owner, lease.ETag
	}
	if err != nil {
		out["error"] = err.Error()
		var exists *litestream.LeaseExistsError
		if errors.As(err, &exists) {
			out["exists"], out["owner"], out["expires_at"] = true, exists.Owner, exists.ExpiresAt.UTC().Format(time.RFC3339Nano)
		}
		out["not_held"] = errors.Is(err, litestream.ErrLeaseNotHeld)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
