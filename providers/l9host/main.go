// pulumi-resource-l9host: l9-deploy's host fact probes (l9host:index:FactProbe), read-only
// probes of facts that only commands touch (a worktree, Caddy's route, the env file, the drift
// cron file). `command.remote.Command` has no read, so a refresh could never notice them
// change (pulumi-command#432). A compiled plugin, not a Node.js dynamic provider: it answers
// the engine in milliseconds, where the dynamic provider's Node process needed about 0.7 s
// to start, during which the engine registered nothing else.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const version = "0.1.0"

// Unknown values are kept (a preview's diff sees them); secrets never reach this provider
// (it does not accept them: the engine marks outputs secret from their inputs).
var props = plugin.MarshalOptions{KeepUnknowns: true, SkipNulls: true}

func unmarshalOldsAndNews(olds, news *structpb.Struct) (resource.PropertyMap, resource.PropertyMap, error) {
	o, err := plugin.UnmarshalProperties(olds, props)
	if err != nil {
		return nil, nil, err
	}
	n, err := plugin.UnmarshalProperties(news, props)
	return o, n, err
}

// The reads of one refresh, batched per connection (batch.go).
var refreshReads = newProbeBatcher(batchWindow, runProbeBatch)

type probeProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func (probeProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (probeProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (probeProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (probeProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{}, nil
}

func (probeProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// Check refuses a connection whose ssh options ssh/openssh-options.ts would not write, before
// any refresh would run ssh with them.
func (probeProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := plugin.UnmarshalProperties(req.GetNews(), props)
	if err != nil {
		return nil, err
	}
	if reason := checkConnectionInput(news[keyConnection]); reason != "" {
		return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: []*pulumirpc.CheckFailure{{Property: keyConnection, Reason: reason}}}, nil
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (probeProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, news, err := unmarshalOldsAndNews(req.GetOlds(), req.GetNews())
	if err != nil {
		return nil, err
	}
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if diffProbe(olds, news) {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{Changes: changes}, nil
}

func (probeProvider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	news, err := plugin.UnmarshalProperties(req.GetProperties(), props)
	if err != nil {
		return nil, err
	}
	generation, err := newGeneration()
	if err != nil {
		return nil, err
	}
	id, outs := createProbe(news, generation)
	out, err := plugin.MarshalProperties(outs, props)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: out}, nil
}

func (probeProvider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	olds, news, err := unmarshalOldsAndNews(req.GetOlds(), req.GetNews())
	if err != nil {
		return nil, err
	}
	generation, err := newGeneration()
	if err != nil {
		return nil, err
	}
	out, err := plugin.MarshalProperties(updateProbe(olds, news, generation), props)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: out}, nil
}

// Read is the refresh: ask the host.
func (probeProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	state, err := plugin.UnmarshalProperties(req.GetProperties(), props)
	if err != nil {
		return nil, err
	}
	conn, err := connectionOf(state[keyConnection])
	if err != nil {
		return nil, err
	}
	what, script := state[keyWhat], state[keyScript]
	if !what.IsString() || !script.IsString() {
		return nil, fmt.Errorf("probe %s: its state has no script to run (what: %v, script: %v)", req.GetId(), what, script)
	}
	r := refreshReads.run(conn, script.StringValue())
	if r.code != 0 {
		return nil, fmt.Errorf("%s", describeProbeFailure(what.StringValue()+" (probe)", conn, r))
	}
	outputs, inputs := readProbe(state, r.stdout)
	outs, err := plugin.MarshalProperties(outputs, props)
	if err != nil {
		return nil, err
	}
	ins, err := plugin.MarshalProperties(inputs, props)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: outs, Inputs: ins}, nil
}

// Delete: a probe leaves nothing on the host.
func (probeProvider) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func main() {
	err := provider.Main("l9host", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return probeProvider{}, nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
