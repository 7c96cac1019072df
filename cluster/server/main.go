// The runbook cluster's Temporal server: the pinned server (go.mod) started as its own
// cmd/server starts it, with our claim mapper and authorizer (policy.go) in place of the
// default ones, whose roles let any writer poll task queues.
//
//	runbook-temporal-server -config DIR -env NAME
package main

import (
	"flag"
	"fmt"
	"os"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql" // the cluster's persistence
	"go.temporal.io/server/temporal"
)

func main() {
	configDir := flag.String("config", "config", "directory holding the server's config files")
	env := flag.String("env", "development", "config file name, without .yaml")
	flag.Parse()
	if err := run(*configDir, *env); err != nil {
		fmt.Fprintln(os.Stderr, "runbook-temporal-server:", err)
		os.Exit(1)
	}
}

func run(configDir, env string) error {
	cfg, err := config.LoadConfig(env, configDir, "")
	if err != nil {
		return fmt.Errorf("loading the config: %w", err)
	}
	// Without mTLS on the frontend there is no identity to authorize: refuse to start open.
	if cfg.Global.TLS.Frontend.Server.CertFile == "" || !cfg.Global.TLS.Frontend.Server.RequireClientAuth {
		return fmt.Errorf("%s/%s.yaml: global.tls.frontend.server needs a certFile and requireClientAuth: true", configDir, env)
	}
	logger := log.NewZapLogger(log.BuildZapLogger(cfg.Log))
	dc := dynamicconfig.NewNoopClient()
	if cfg.DynamicConfigClient != nil {
		if dc, err = dynamicconfig.NewFileBasedClient(cfg.DynamicConfigClient, logger, temporal.InterruptCh()); err != nil {
			return fmt.Errorf("dynamic config: %w", err)
		}
	}
	server, err := temporal.NewServer(
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithConfig(cfg),
		temporal.WithDynamicConfigClient(dc),
		temporal.WithLogger(logger),
		temporal.InterruptOn(temporal.InterruptCh()),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return certificateRoles{} }),
		temporal.WithAuthorizer(roleAuthorizer{}),
	)
	if err != nil {
		return fmt.Errorf("creating the server: %w", err)
	}
	return server.Start()
}
