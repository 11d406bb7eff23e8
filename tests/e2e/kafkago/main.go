// A segmentio/kafka-go 0.2.1 client (Debian 12's golang-github-segmentio-kafka-go-dev) for the
// legacy-format e2e tests. That release never sends ApiVersions: it writes Produce v2 with
// magic 1 message sets and reads with Fetch v2 (ListOffsets v1 to seek).
//
//	kafkago ADDR TOPIC CODEC write N   writes N messages (key kI, value vI, ts 1700000000000+I)
//	kafkago ADDR TOPIC CODEC read N    prints N messages from offset 0: offset, key, value, ts
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
	"github.com/segmentio/kafka-go/lz4"
	"github.com/segmentio/kafka-go/snappy"
)

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kafkago:", err)
	os.Exit(1)
}

func codec(name string) kafka.CompressionCodec {
	switch name {
	case "gzip":
		return gzip.NewCompressionCodec()
	case "snappy":
		return snappy.NewCompressionCodec()
	case "lz4":
		return lz4.NewCompressionCodec()
	}
	return nil
}

func write(conn *kafka.Conn, c kafka.CompressionCodec, n int) {
	// Two requests, so that offsets are assigned across sets.
	for start := 0; start < n; start += (n + 1) / 2 {
		var msgs []kafka.Message
		for i := start; i < n && i < start+(n+1)/2; i++ {
			msgs = append(msgs, kafka.Message{
				Key:   []byte("k" + strconv.Itoa(i)),
				Value: []byte("v" + strconv.Itoa(i)),
				Time:  time.Unix(0, (1700000000000+int64(i))*int64(time.Millisecond)),
			})
		}
		var err error
		if c == nil {
			_, err = conn.WriteMessages(msgs...)
		} else {
			_, err = conn.WriteCompressedMessages(c, msgs...)
		}
		if err != nil {
			fail(err)
		}
	}
}

func read(conn *kafka.Conn, n int) {
	if _, err := conn.Seek(0, kafka.SeekAbsolute); err != nil {
		fail(err)
	}
	for got := 0; got < n; {
		batch := conn.ReadBatch(1, 1<<20)
		for got < n {
			m, err := batch.ReadMessage()
			if err != nil {
				break
			}
			fmt.Printf("%d\t%s\t%s\t%d\n", m.Offset, m.Key, m.Value,
				m.Time.UnixNano()/int64(time.Millisecond))
			got++
		}
		if err := batch.Close(); err != nil {
			fail(err)
		}
	}
}

func main() {
	if len(os.Args) != 6 {
		fail(fmt.Errorf("usage: kafkago ADDR TOPIC CODEC write|read N"))
	}
	n, err := strconv.Atoi(os.Args[5])
	if err != nil {
		fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := kafka.DialLeader(ctx, "tcp", os.Args[1], os.Args[2], 0)
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if os.Args[4] == "write" {
		write(conn, codec(os.Args[3]), n)
	} else {
		read(conn, n)
	}
}
