package dev.graft.sync.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.proto.v1.FetchWeightsRequest;
import dev.graft.proto.v1.PolicyServiceGrpc;
import dev.graft.proto.v1.WeightChunk;
import dev.graft.service.CallProbe;
import dev.graft.service.ManualReader;
import dev.graft.sync.PolicyUpdate;
import dev.graft.sync.SyncFixtures;
import dev.graft.sync.VersionManifest;
import dev.graft.sync.subscribe.WeightAssembler;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** FetchWeights against a client that reads nothing for a while, over Netty on loopback. */
class PolicyFlowControlTest {

  private static final int CHUNK_BYTES = 1024;
  /** The client's per-stream HTTP/2 window: the most bytes in flight that it has not read. */
  private static final int CLIENT_WINDOW = 256;
  /** Bytes a server stream may queue before it reports the call not ready (gRPC's default: 32 KiB). */
  private static final int ON_READY_THRESHOLD = 1;
  /**
   * What a server that writes only while the call is ready writes, at most, to a client that reads
   * nothing, besides its last message: the window plus the threshold (and 1 KiB to spare).
   */
  private static final int MAY_BE_UNREAD = CLIENT_WINDOW + ON_READY_THRESHOLD + 1024;
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final WeightPublisher publisher = new WeightPublisher();
  private final CallProbe probe = new CallProbe(ON_READY_THRESHOLD);
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(ServerInterceptors.intercept(new PolicyGrpcService(publisher, CHUNK_BYTES), probe))
        .build().start();
    channel = NettyChannelBuilder.forAddress("localhost", server.getPort()).usePlaintext()
        .flowControlWindow(CLIENT_WINDOW).build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
  }

  @Test
  void slowClient_serverStopsWritingWhileItReadsNothing_thenEveryTensorArrivesWhenItReads() throws Exception {
    Map<String, float[]> weights = SyncFixtures.weights(3);
    VersionManifest m = publisher.publish(new PolicyUpdate(1, SyncFixtures.CONFIG, weights));
    assertTrue(m.totalBytes() > 100L * MAY_BE_UNREAD, "the version must dwarf what may be in flight");

    ManualReader<FetchWeightsRequest, WeightChunk> reader = new ManualReader<>();
    PolicyServiceGrpc.newStub(channel).fetchWeights(FetchWeightsRequest.newBuilder().setVersion(1).build(), reader);
    assertTrue(probe.awaitStalledOrClosed(WAIT), "the server neither found the call unready nor finished");
    long written = probe.bytesBeforeLast();
    assertFalse(probe.closed(), "the server wrote all " + probe.messages() + " chunks to a client that read none");
    assertTrue(written <= MAY_BE_UNREAD, written + " bytes written to a client that read none (at most "
        + MAY_BE_UNREAD + " of " + m.totalBytes() + " expected)");
    assertEquals(List.of(), reader.received());

    reader.request(Integer.MAX_VALUE);
    assertEquals(Status.Code.OK, reader.awaitEnd(WAIT).getCode());
    WeightAssembler assembler = new WeightAssembler(m);
    for (WeightChunk c : reader.received()) {
      assembler.accept(c.getVersion(), c.getTensorName(), c.getOffset(), c.getData().asReadOnlyByteBuffer(),
          c.getLast());
    }
    SyncFixtures.assertBitIdentical(weights, assembler.finish().tensors());
  }
}
