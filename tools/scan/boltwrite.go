// boltwrite writes a bbolt file from nested JSON on stdin: an object is a
// bucket, a string is a value's bytes. trivy's database is such a file; this
// writes the test fixtures (tools/scan/fixture.py decides the buckets).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

func fill(bucket *bolt.Bucket, node map[string]interface{}) error {
	for key, value := range node {
		switch v := value.(type) {
		case string:
			if err := bucket.Put([]byte(key), []byte(v)); err != nil {
				return err
			}
		case map[string]interface{}:
			child, err := bucket.CreateBucketIfNotExists([]byte(key))
			if err != nil {
				return err
			}
			if err := fill(child, v); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%q: a bucket is an object and a value a string", key)
		}
	}
	return nil
}

func write(path string, top map[string]map[string]interface{}) error {
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error {
		for name, node := range top {
			bucket, err := tx.CreateBucketIfNotExists([]byte(name))
			if err != nil {
				return err
			}
			if err := fill(bucket, node); err != nil {
				return err
			}
		}
		return nil
	})
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: boltwrite OUT.db < buckets.json")
		os.Exit(2)
	}
	var top map[string]map[string]interface{}
	if err := json.NewDecoder(os.Stdin).Decode(&top); err != nil {
		fmt.Fprintln(os.Stderr, "boltwrite: the buckets are not a JSON object of objects:", err)
		os.Exit(2)
	}
	if err := write(os.Args[1], top); err != nil {
		fmt.Fprintln(os.Stderr, "boltwrite:", err)
		os.Exit(1)
	}
}
