// Command mongoping is the harness's floor for check_mongodb --mode
// connect: the official driver, connect, ping, disconnect, nothing else.
// Usage: mongoping mongodb://127.0.0.1:PORT
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Println("usage: mongoping URI")
		os.Exit(3)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := mongo.Connect(ctx, options.Client().ApplyURI(os.Args[1]).SetDirect(true))
	if err == nil {
		err = c.Ping(ctx, nil)
		_ = c.Disconnect(ctx)
	}
	if err != nil {
		fmt.Println("ping failed:", err)
		os.Exit(2)
	}
	fmt.Println("OK")
}
