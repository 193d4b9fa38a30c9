package mixin

// Temporary skeleton; replaced by auth.go and client.go.

import (
	"net/http"
)

type Keystore struct{ AppID, SessionID string }

func ParseKeystore(data []byte) (*Keystore, error) { return &Keystore{}, nil }

type Client struct{}
type Option func(*Client) error

func NewClient(ks *Keystore, opts ...Option) (*Client, error) { return &Client{}, nil }
func WithBaseURL(u string) Option                            { return nil }
func WithBlazeURL(u string) Option                           { return nil }
func WithHTTPClient(hc *http.Client) Option                  { return nil }
