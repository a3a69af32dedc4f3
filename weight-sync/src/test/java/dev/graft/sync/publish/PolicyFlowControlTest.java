package dev.graft.sync.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.proto.v1.FetchWeightsRequest;
import dev.graft.proto.v1.PolicyServiceGrpc;
import dev.graft.proto.v1.WeightChunk;
import dev.graft.service.CallProbe;
import dev.graft.service.ManualReader;
import dev.graft.service.SlowClientLink;
import dev.graft.sync.PolicyUpdate;
import dev.graft.sync.SyncFixtures;
import dev.graft.sync.VersionManifest;
import dev.graft.sync.subscribe.WeightAssembler;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** FetchWeights against a client that reads nothing for a while, over Netty on loopback. */
class PolicyFlowControlTest {

  private static final int CHUNK_BYTES = 1024;
  private static final int MAY_BE_UNREAD = SlowClientLink.MAY_BE_UNREAD;
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final WeightPublisher publisher = new WeightPublisher();
  private SlowClientLink link;
  private CallProbe probe;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    link = new SlowClientLink(new PolicyGrpcService(publisher, CHUNK_BYTES), null);
    probe = link.probe();
    channel = link.channel();
  }

  @AfterEach
  void stop() throws Exception {
    link.close();
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
