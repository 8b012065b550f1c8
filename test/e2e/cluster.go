package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// AdminToken authenticates as system:masters on the test apiserver.
const AdminToken = "vaultcmp-e2e-admin"

// Cluster is a real etcd + kube-apiserver on 127.0.0.1 (no nodes, no
// controllers: enough for service accounts, TokenRequest, TokenReview,
// Secrets and RBAC).
type Cluster struct {
	URL   string // https://127.0.0.1:PORT
	CAPEM []byte
	Admin *kubernetes.Clientset
	dir   string
	pki   *pki
	procs []*exec.Cmd // apiserver first: it must stop before etcd
	logs  []*bytes.Buffer
}

// StartCluster starts etcd and kube-apiserver and waits for /readyz.
func StartCluster(ctx context.Context) (*Cluster, error) {
	etcdBin, err := EtcdBinary()
	if err != nil {
		return nil, err
	}
	apiBin, err := KubeAPIServerBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vaultcmp-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	fail := func(err error) (*Cluster, error) {
		c.Stop()
		return nil, err
	}
	p, err := newPKI(dir)
	if err != nil {
		return fail(err)
	}
	c.CAPEM, c.pki = p.CAPEM, p
	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = FreePort(); err != nil {
			return fail(err)
		}
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	etcd := exec.Command(etcdBin, "--name=e2e", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=e2e="+peerURL, "--log-level=error")
	if err := c.start(etcd); err != nil {
		return fail(err)
	}
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(AdminToken+",admin,admin,system:masters\n"), 0o600); err != nil {
		return fail(err)
	}
	c.URL = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	api := exec.Command(apiBin,
		"--etcd-servers="+etcdURL, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", ports[2]),
		"--tls-cert-file="+p.CertFile, "--tls-private-key-file="+p.KeyFile, "--client-ca-file="+p.CAFile,
		"--token-auth-file="+tokens,
		"--service-account-key-file="+p.SAPubFile, "--service-account-signing-key-file="+p.SAKeyFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--api-audiences=https://kubernetes.default.svc.cluster.local,vault",
		"--service-cluster-ip-range=10.0.0.0/24", "--authorization-mode=RBAC",
		"--cert-dir="+filepath.Join(dir, "certs"), "--endpoint-reconciler-type=none", "--v=0")
	if err := c.start(api); err != nil {
		return fail(err)
	}
	if err := c.waitReady(ctx); err != nil {
		return fail(err)
	}
	if c.Admin, err = kubernetes.NewForConfig(c.RestConfig(AdminToken)); err != nil {
		return fail(err)
	}
	return c, nil
}

func (c *Cluster) start(cmd *exec.Cmd) error {
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", filepath.Base(cmd.Path), err)
	}
	c.procs = append([]*exec.Cmd{cmd}, c.procs...)
	c.logs = append(c.logs, &log)
	return nil
}

func (c *Cluster) waitReady(ctx context.Context) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CAPEM)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+AdminToken)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		for _, p := range c.procs {
			if p.ProcessState != nil {
				return fmt.Errorf("%s exited", filepath.Base(p.Path))
			}
		}
		if time.Now().After(deadline) {
			var logs bytes.Buffer
			for _, l := range c.logs {
				logs.Write(tail(l.Bytes(), 3000))
			}
			return fmt.Errorf("kube-apiserver at %s not ready: %w\n%s", c.URL, err, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// StartControllerManager adds kube-controller-manager (Deployments make
// ReplicaSets: a rollout restart makes a new one; no pods run, there is no
// kubelet). It stops with the cluster, before the apiserver.
func (c *Cluster) StartControllerManager(ctx context.Context) error {
	bin, err := KubeControllerManagerBinary()
	if err != nil {
		return err
	}
	kubeconfig, err := c.WriteKubeconfig("kube-controller-manager", AdminToken)
	if err != nil {
		return err
	}
	port, err := FreePort()
	if err != nil {
		return err
	}
	kcm := exec.Command(bin, "--kubeconfig="+kubeconfig, "--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir="+filepath.Join(c.dir, "kcm-certs"), "--leader-elect=false",
		"--service-account-private-key-file="+c.pki.SAKeyFile, "--root-ca-file="+c.pki.CAFile,
		"--controllers=deployment-controller,replicaset-controller,garbage-collector-controller", "--v=0")
	return c.start(kcm)
}

// RestConfig is a client config with a bearer token.
func (c *Cluster) RestConfig(token string) *rest.Config {
	return &rest.Config{Host: c.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: c.CAPEM}}
}

// WriteKubeconfig writes a kubeconfig for token and returns its path.
func (c *Cluster) WriteKubeconfig(name, token string) (string, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["e2e"] = &clientcmdapi.Cluster{Server: c.URL, CertificateAuthorityData: c.CAPEM}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: name}
	cfg.CurrentContext = "e2e"
	p := filepath.Join(c.dir, name+".kubeconfig")
	return p, clientcmd.WriteToFile(*cfg, p)
}

// Stop stops the apiserver, then etcd, and removes the files.
func (c *Cluster) Stop() {
	for _, p := range c.procs {
		if p.Process != nil {
			_ = p.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = p.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = p.Process.Kill()
				<-done
			}
		}
	}
	_ = os.RemoveAll(c.dir)
}
