module github.com/gomixin/mixin

go 1.25

require (
	github.com/go-resty/resty/v2 v2.16.5 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/net v0.33.0 // indirect
)
