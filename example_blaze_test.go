package mixin_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/gomixin/mixin"
)

// A handler that cannot ever succeed on a message says so with
// mixin.Permanent: the message goes straight to the dead-letter hook (no
// retries) and is acknowledged. API refusals such as a 403 are permanent
// without being marked.
func ExampleWithDeadLetter() {
	s := exampleServer()
	defer s.Close()
	alice := s.NewUserWithID(exampleAliceID, "Alice")
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}

	var attempts int
	handler := mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) error {
		attempts++
		return mixin.Permanent(errors.New("unsupported request"))
	})
	dead := make(chan string, 1)
	deadLetter := mixin.WithDeadLetter(func(ctx context.Context, msg *mixin.Message, err error) {
		// Store msg somewhere for a human to look at; it is acknowledged
		// when this returns.
		dead <- fmt.Sprintf("%q: %v", msg.Text(), err)
	})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- client.RunBlaze(ctx, handler, deadLetter) }()
	if _, err := alice.SendText(ctx, exampleBotID, "make me a sandwich"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("dead letter:", <-dead)
	cancel()
	<-done
	fmt.Println("attempts:", attempts, "unacknowledged:", s.Pending(exampleBotID))
	// Output:
	// dead letter: "make me a sandwich": unsupported request
	// attempts: 1 unacknowledged: 0
}

// The state hook sees the connection come and go, in order, from a
// goroutine of its own; the last event is delivered before RunBlaze
// returns.
func ExampleWithStateHook() {
	s := exampleServer()
	defer s.Close()
	client, err := s.Client()
	if err != nil {
		log.Fatal(err)
	}

	connected := make(chan struct{})
	hook := mixin.WithStateHook(func(e mixin.StateEvent) {
		switch e.State {
		case mixin.ConnStateConnected:
			fmt.Println("connected, attempt", e.Attempt)
			close(connected)
		case mixin.ConnStateDisconnected:
			// Err says why; Delay is the wait before the next dial.
			fmt.Printf("disconnected: %v (next dial in %v)\n", e.Err, e.Delay)
		default:
			fmt.Println(e.State)
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	nothing := mixin.HandlerFunc(func(context.Context, *mixin.Message) error { return nil })
	go func() { done <- client.RunBlaze(ctx, nothing, hook, mixin.WithShutdownTimeout(time.Second)) }()
	<-connected
	cancel()
	fmt.Println("RunBlaze returned", <-done)
	// Output:
	// connecting
	// connected, attempt 1
	// disconnected: context canceled (next dial in 0s)
	// RunBlaze returned <nil>
}
