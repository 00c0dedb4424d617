module github.com/opschecks/opschecks

go 1.26.8

require (
	github.com/atc0005/go-nagios v0.20.0
	github.com/jessevdk/go-flags v1.6.1
	github.com/xdg-go/scram v1.2.0
	go.mongodb.org/mongo-driver v1.17.10
	golang.org/x/sys v0.46.0
)

require (
	github.com/golang/snappy v0.0.4 // indirect
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/montanaflynn/stats v0.7.1 // indirect
	github.com/xdg-go/pbkdf2 v1.0.0 // indirect
	github.com/xdg-go/stringprep v1.0.4 // indirect
	github.com/youmark/pkcs8 v0.0.0-20240726163527-a2c0da244d78 // indirect
	golang.org/x/crypto v0.53.0 // indirect
	golang.org/x/sync v0.21.0 // indirect
	golang.org/x/text v0.39.0 // indirect
)
