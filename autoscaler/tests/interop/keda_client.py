"""KEDA's side of the external scaler protocol, from KEDA's own proto, with Python's grpcio.

Usage: keda_client.py PROTO_DIR OUT_DIR ADDRESS
Generates the stubs from PROTO_DIR/externalscaler.proto into OUT_DIR, then calls the scaler at
ADDRESS. Fails (exit 1, message on stderr) on the first unexpected answer. For the stream it
prints `stream-first <bool>` and waits for the next push, which the Rust test triggers.
"""
import sys

from grpc_tools import protoc

proto_dir, out_dir, address = sys.argv[1:4]
if protoc.main(["protoc", f"-I{proto_dir}", f"--python_out={out_dir}",
                f"--grpc_python_out={out_dir}", "externalscaler.proto"]) != 0:
    sys.exit("protoc failed on KEDA's externalscaler.proto")
sys.path.insert(0, out_dir)

import grpc  # noqa: E402
import externalscaler_pb2 as pb  # noqa: E402
import externalscaler_pb2_grpc as pbg  # noqa: E402


def expect(what, got, want):
    if got != want:
        sys.exit(f"{what}: got {got!r}, want {want!r}")


channel = grpc.insecure_channel(address)
grpc.channel_ready_future(channel).result(timeout=10)
stub = pbg.ExternalScalerStub(channel)


def ref(**meta):
    return pb.ScaledObjectRef(name="web", namespace="shop", scalerMetadata=meta)


# A named autoscaler: the metric is Vane's desired count, the target 1.
checkout = ref(autoscaler="checkout")
expect("IsActive(checkout)", stub.IsActive(checkout, timeout=5).result, True)
expect("IsActive(idle)", stub.IsActive(ref(autoscaler="idle"), timeout=5).result, False)
spec = stub.GetMetricSpec(checkout, timeout=5).metricSpecs
expect("GetMetricSpec(checkout) count", len(spec), 1)
expect("metricName", spec[0].metricName, "vane-checkout")
expect("targetSize", spec[0].targetSize, 1)
expect("targetSizeFloat", spec[0].targetSizeFloat, 1.0)
vals = stub.GetMetrics(pb.GetMetricsRequest(scaledObjectRef=checkout, metricName="vane-checkout"),
                       timeout=5).metricValues
expect("GetMetrics(checkout) count", len(vals), 1)
expect("metricName", vals[0].metricName, "vane-checkout")
expect("metricValue", vals[0].metricValue, 3)
expect("metricValueFloat", vals[0].metricValueFloat, 3.0)

# A query and a target.
q = ref(query="load", targetValue="2.5", activationThreshold="7.5", metricName="load-per-pod")
spec = stub.GetMetricSpec(q, timeout=5).metricSpecs
expect("query metricName", spec[0].metricName, "load-per-pod")
expect("query targetSize", spec[0].targetSize, 3)
expect("query targetSizeFloat", spec[0].targetSizeFloat, 2.5)
vals = stub.GetMetrics(pb.GetMetricsRequest(scaledObjectRef=q, metricName="load-per-pod"),
                       timeout=5).metricValues
expect("query metricValue", vals[0].metricValue, 8)
expect("query metricValueFloat", vals[0].metricValueFloat, 7.5)
# Active only strictly above the threshold, as KEDA.
expect("IsActive(7.5 > 7.5)", stub.IsActive(q, timeout=5).result, False)
expect("IsActive(7.5 > 7)",
       stub.IsActive(ref(query="load", targetValue="2.5", activationThreshold="7"),
                     timeout=5).result, True)

# Errors carry gRPC codes.
try:
    stub.IsActive(ref(autoscaler="nope"), timeout=5)
    sys.exit("IsActive(nope) answered")
except grpc.RpcError as e:
    expect("IsActive(nope) code", e.code(), grpc.StatusCode.NOT_FOUND)
try:
    stub.GetMetricSpec(ref(query="load"), timeout=5)
    sys.exit("GetMetricSpec without targetValue answered")
except grpc.RpcError as e:
    expect("no targetValue code", e.code(), grpc.StatusCode.INVALID_ARGUMENT)

# StreamIsActive: the state now, then a push on the change.
stream = stub.StreamIsActive(checkout, timeout=20)
first = next(stream).result
print(f"stream-first {first}", flush=True)
expect("stream first", first, True)
expect("stream second", next(stream).result, False)
stream.cancel()
print("ok", flush=True)
