package payloadcodec

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
)

// converters builds the data and failure converters of every flexauth
// client, worker and replayer: the SDK's default payload conversion, then
// this codec; failures carry their message and stack trace encrypted too
// (an error such as "load user \"alice\"" would otherwise be recorded in
// clear).
func converters(keys Keys) (converter.DataConverter, converter.FailureConverter) {
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), New(keys))
	fc := temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
	return dc, fc
}

// ClientOptions returns base with flexauth's data and failure converters.
// Workers made from the client inherit them, so the API and the worker
// read each other's payloads as long as they share the keyring.
func ClientOptions(keys Keys, base client.Options) client.Options {
	base.DataConverter, base.FailureConverter = converters(keys)
	return base
}

// ReplayerOptions are the options of a workflow replayer that reads
// histories recorded by flexauth (encrypted or, from before the codec, in
// clear).
func ReplayerOptions(keys Keys) worker.WorkflowReplayerOptions {
	dc, fc := converters(keys)
	return worker.WorkflowReplayerOptions{DataConverter: dc, FailureConverter: fc}
}
