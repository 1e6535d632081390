// Package events delivers the messages of event triggers (KafkaTrigger,
// NATSTrigger, KinesisTrigger) to functions, the same way on both engines:
// each message becomes one call of the function, with the original
// Kubeless's event headers and the payload as the body, retried with
// backoff up to the trigger's limit and then dead-lettered
// (docs/events.md).
//
// A Deliverer does the calls of one (trigger, function) pair; a consumer
// (KafkaConsumer, NATSConsumer, KinesisConsumer) reads a broker and hands
// the messages to it, committing a Kafka offset or checkpointing a Kinesis
// sequence number only once the message was delivered or dead-lettered. How a function is called is the engine's: an Invoker.
package events

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"
)

// Event header names, as the original Kubeless's triggers sent them.
const (
	HeaderEventID        = "event-id"
	HeaderEventTime      = "event-time"
	HeaderEventType      = "event-type"
	HeaderEventNamespace = "event-namespace"
	HeaderEventTopic     = "event-topic"
)

// Message is one message of a broker.
type Message struct {
	// ID identifies the message: the same on every delivery of it (a
	// Kafka message's is "<topic>/<partition>/<offset>"), so that a
	// function can drop duplicates.
	ID string
	// Topic is the Kafka topic, NATS subject or Kinesis stream.
	Topic string
	// Time is when the broker got the message.
	Time time.Time
	// Data is the payload.
	Data []byte
	// Key is the record's partition key (Kinesis), kept when the message
	// is dead-lettered.
	Key string
}

// Invoker calls function fn of the trigger's namespace once, with h and
// body, and returns the answer's status. An error means no answer (the
// function is unreachable, or ctx ended).
type Invoker func(ctx context.Context, fn string, h http.Header, body []byte) (status int, err error)

// Header returns the headers of a call that delivers m, for a trigger
// whose event-namespace is ns. As in the original, a JSON object is sent
// as application/json, anything else as application/x-www-form-urlencoded;
// event-time is Go's time.String() form in UTC.
func Header(m Message, ns string) http.Header {
	h := http.Header{}
	id := m.ID
	if id == "" {
		id = RandomID()
	}
	t := m.Time
	if t.IsZero() {
		t = time.Now()
	}
	h.Set(HeaderEventID, id)
	h.Set(HeaderEventTime, t.UTC().String())
	h.Set(HeaderEventNamespace, ns)
	h.Set(HeaderEventTopic, m.Topic)
	ct := "application/x-www-form-urlencoded"
	if isJSONObject(m.Data) {
		ct = "application/json"
	}
	h.Set("Content-Type", ct)
	h.Set(HeaderEventType, ct)
	return h
}

func isJSONObject(b []byte) bool {
	var v map[string]any
	return json.Unmarshal(b, &v) == nil
}

// RandomID returns 11 random bytes in base64url without padding, like the
// original's event ids.
func RandomID() string {
	b := make([]byte, 11)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// GroupID is the Kafka consumer group of trigger (of namespace ns) for
// function fn on topic, as the original kafka-trigger named it, so that
// the offsets it committed carry over.
func GroupID(ns, trigger, fn, topic string) string {
	return ns + "_" + trigger + "_" + fn + "_" + topic
}
