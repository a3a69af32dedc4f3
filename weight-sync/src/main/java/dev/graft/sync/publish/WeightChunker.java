package dev.graft.sync.publish;

import com.google.protobuf.UnsafeByteOperations;
import dev.graft.proto.v1.WeightChunk;
import dev.graft.sync.PolicyBytes;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Cuts the tensors of a published version into {@link WeightChunk}s, each serialized under a byte
 * budget and carrying whole fp32 elements. Chunks wrap the version's immutable bytes without
 * copying and are built one at a time as they are asked for.
 */
final class WeightChunker implements Iterator<WeightChunk> {

  /** Framing of a chunk besides its name and data: tags, varints, the last flag. */
  private static final int OVERHEAD_BYTES = 48;

  private final PublishedVersion version;
  private final List<String> names;
  private final int budgetBytes;
  private int tensor;
  private long offset;

  /**
   * @param names tensors to send, in order; each must be in {@code version}
   * @param budgetBytes the most bytes one serialized chunk may take
   */
  WeightChunker(PublishedVersion version, List<String> names, int budgetBytes) {
    checkBudget(budgetBytes);
    this.version = version;
    this.names = List.copyOf(names);
    this.budgetBytes = budgetBytes;
  }

  static int checkBudget(int budgetBytes) {
    if (budgetBytes < PolicyBytes.MIN_CHUNK_BYTES || budgetBytes > PolicyBytes.MAX_CHUNK_BYTES) {
      throw new IllegalArgumentException("chunk budget (" + budgetBytes + " bytes) must be in ["
          + PolicyBytes.MIN_CHUNK_BYTES + ", " + PolicyBytes.MAX_CHUNK_BYTES + "]");
    }
    return budgetBytes;
  }

  @Override
  public boolean hasNext() {
    return tensor < names.size();
  }

  @Override
  public WeightChunk next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    String name = names.get(tensor);
    byte[] bytes = version.bytes().get(name);
    int length = (int) Math.min(dataBytesPerChunk(name), bytes.length - offset);
    boolean last = offset + length == bytes.length;
    WeightChunk chunk = WeightChunk.newBuilder()
        .setVersion(version.version())
        .setTensorName(name)
        .setOffset(offset)
        .setData(UnsafeByteOperations.unsafeWrap(bytes, (int) offset, length))
        .setLast(last)
        .build();
    if (last) {
      tensor++;
      offset = 0;
    } else {
      offset += length;
    }
    return chunk;
  }

  /** Data bytes that fit the budget beside this name, rounded down to whole elements. */
  private int dataBytesPerChunk(String name) {
    int room = budgetBytes - OVERHEAD_BYTES - name.getBytes(StandardCharsets.UTF_8).length;
    int elements = Math.max(1, room / PolicyBytes.ELEMENT_BYTES);
    return elements * PolicyBytes.ELEMENT_BYTES;
  }
}
