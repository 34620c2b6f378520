// Command kube-api is a real Kubernetes API server for Bazaar's tests: the upstream kube-apiserver
// (k8s.io/kubernetes/cmd/kube-apiserver/app) and an embedded etcd (go.etcd.io/etcd/server/v3/embed),
// built from Go modules into one binary by scripts/install-kube-api.
//
// Subcommands:
//
//	kube-api serve --etcd-data-dir DIR [kube-apiserver flags...]
//	    Starts etcd in this process (data in DIR, client port on 127.0.0.1 chosen by the kernel, so it
//	    can never collide with anything), waits until it is ready, then runs kube-apiserver with the
//	    given flags plus --etcd-servers pointing at it. Stopping the process stops both; starting it
//	    again on the same DIR brings back every object with its resourceVersion.
//	kube-api apiserver [kube-apiserver flags...]
//	    Exactly the upstream kube-apiserver command (bring your own etcd).
//	kube-api controller-manager [kube-controller-manager flags...]
//	    Exactly the upstream kube-controller-manager command. Tests run it as a second process with a
//	    few controllers (--controllers=namespace,garbagecollector,...), so that deleting a namespace
//	    deletes what is in it and owner references are honoured, as in a cluster.
//	kube-api version
//	    Prints the Kubernetes and etcd module versions built in, and the version the API server reports
//	    (GET /version, `kubectl version`). scripts/install-kube-api stamps the latter with the module's
//	    version as upstream release builds do (-X ldflags); without stamps it would be v0.0.0-master.
//
// Why one process for etcd and kube-apiserver: a test restarting "the API server" wants every client connection and
// watch to break and the same data to come back, which killing and restarting one process gives; a
// separate etcd process would add a second port to pick, a second readiness wait and a second
// process to clean up, for no behaviour a client can observe.
package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // as upstream kube-apiserver: CronJob time zones

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // as upstream: JSON log format
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // as upstream: client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // as upstream: version metric
	"k8s.io/component-base/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

const usage = `usage:
  kube-api serve --etcd-data-dir DIR [kube-apiserver flags...]
  kube-api apiserver [kube-apiserver flags...]
  kube-api controller-manager [kube-controller-manager flags...]
  kube-api version
`

// etcdReadyTimeout bounds how long an embedded etcd may take to open its data and elect itself.
const etcdReadyTimeout = 60 * time.Second

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		os.Exit(serve(os.Args[2:]))
	case "apiserver":
		os.Exit(apiserver(os.Args[2:]))
	case "controller-manager":
		os.Exit(controllerManager(os.Args[2:]))
	case "version", "--version":
		fmt.Printf("kubernetes %s\netcd %s\nreports %s\n", moduleVersion("k8s.io/kubernetes"),
			moduleVersion("go.etcd.io/etcd/server/v3"), version.Get().GitVersion)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "kube-api: unknown subcommand %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}

// apiserver runs the upstream kube-apiserver command with args.
func apiserver(args []string) int {
	command := app.NewAPIServerCommand()
	command.SetArgs(args)
	return cli.Run(command)
}

// controllerManager runs the upstream kube-controller-manager command with args.
func controllerManager(args []string) int {
	command := controllermanager.NewControllerManagerCommand()
	command.SetArgs(args)
	return cli.Run(command)
}

// serve starts an embedded etcd, then kube-apiserver against it.
func serve(args []string) int {
	dataDir, rest, err := takeFlag(args, "--etcd-data-dir")
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube-api serve: %v\n%s", err, usage)
		return 2
	}
	etcd, err := startEtcd(dataDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube-api serve: etcd: %v\n", err)
		return 1
	}
	defer etcd.Close()
	go func() {
		// etcd failing under a running API server is fatal: nothing would work any more.
		if err, ok := <-etcd.Err(); ok && err != nil {
			fmt.Fprintf(os.Stderr, "kube-api serve: etcd failed: %v\n", err)
			os.Exit(1)
		}
	}()
	endpoint := "http://" + etcd.Clients[0].Addr().String()
	fmt.Fprintf(os.Stderr, "kube-api serve: etcd ready at %s (data in %s)\n", endpoint, dataDir)
	return apiserver(append(rest, "--etcd-servers="+endpoint))
}

// startEtcd starts a single-member etcd with its data in dir, listening on free ports of 127.0.0.1,
// and waits until it serves. A port taken between our probe and etcd's bind is retried on another.
func startEtcd(dir string) (*embed.Etcd, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		e, err := startEtcdOnce(dir)
		if err == nil {
			return e, nil
		}
		lastErr = err
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	return nil, lastErr
}

func startEtcdOnce(dir string) (*embed.Etcd, error) {
	clientURL, err := freeURL()
	if err != nil {
		return nil, err
	}
	peerURL, err := freeURL()
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Name = "kube-api"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{"stderr"}
	// Killing the process (what tests do) keeps everything written in the page cache, so fsync only
	// protects against the machine crashing, which a throwaway test server need not survive. Without
	// it, writes do not wait for the disk.
	cfg.UnsafeNoFsync = true

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(etcdReadyTimeout):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("not ready within %s", etcdReadyTimeout)
	}
}

// freeURL is http://127.0.0.1:<a port that is free right now>. etcd must know its ports up front (it
// advertises them to itself), so the kernel picks one here and etcd binds it a moment later.
func freeURL() (url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return url.URL{}, err
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return url.URL{}, err
	}
	return url.URL{Scheme: "http", Host: addr}, nil
}

// takeFlag removes "--name=value" or "--name value" from args and returns the value and the rest.
func takeFlag(args []string, name string) (string, []string, error) {
	var value string
	found := false
	rest := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		switch {
		case strings.HasPrefix(args[i], name+"="):
			value, found = strings.TrimPrefix(args[i], name+"="), true
		case args[i] == name && i+1 < len(args):
			value, found = args[i+1], true
			i++
		default:
			rest = append(rest, args[i])
		}
	}
	if !found || value == "" {
		return "", nil, fmt.Errorf("%s is required", name)
	}
	return value, rest, nil
}

// moduleVersion is the version of module path linked into this binary.
func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == path {
			if dep.Replace != nil {
				return dep.Replace.Version
			}
			return dep.Version
		}
	}
	return "unknown"
}
