package dev.graft.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SequencePackerTest {

  private static final int BOS = 1;
  private static final int EOS = 2;
  private static final int PAD = 0;

  /** Encodes "10 11" as {10, 11}: the text is the token ids. */
  private static final TextEncoder IDS =
      text -> Arrays.stream(text.split(" ")).mapToInt(Integer::parseInt).toArray();

  private static final SequencePacker PACKER = new SequencePacker(3, BOS, EOS, PAD);

  // news stream: 1 10 11 2 1 12 2 1 13 14 2 (11 tokens, 10 targets: 3 full windows + 1 tail)
  // humor stream: 1 20 21 22 2 (5 tokens, 4 targets: 1 full window + 1 tail)
  private static final List<Document> DOCS =
      List.of(
          new Document("n1", "news", "10 11"),
          new Document("h1", "humor", "20 21 22"),
          new Document("n2", "news", "12"),
          new Document("n3", "news", "13 14"));

  @Test
  void pack_dropTail_cutsEachDomainStreamIntoWindowsSharingOneToken() {
    PackedSequences packed = PACKER.pack(DOCS, IDS, SequencePacker.Tail.DROP);

    assertEquals(4, packed.size());
    assertArrayEquals(new int[] {1, 20, 21, 22}, packed.window(0));
    assertArrayEquals(new int[] {1, 10, 11, 2}, packed.window(1));
    assertArrayEquals(new int[] {2, 1, 12, 2}, packed.window(2));
    assertArrayEquals(new int[] {2, 1, 13, 14}, packed.window(3));
    assertEquals(List.of("humor", "news", "news", "news"), domainsOf(packed));
  }

  @Test
  void pack_inputsAndTargets_areTheWindowShiftedByOne() {
    PackedSequences packed = PACKER.pack(DOCS, IDS, SequencePacker.Tail.DROP);
    assertArrayEquals(new int[] {1, 10, 11}, packed.inputs(1));
    assertArrayEquals(new int[] {10, 11, 2}, packed.targets(1));
    for (int i = 0; i < packed.size(); i++) {
      assertArrayEquals(
          Arrays.copyOfRange(packed.window(i), 1, 4), packed.targets(i), "targets of " + i);
      assertArrayEquals(
          Arrays.copyOfRange(packed.window(i), 0, 3), packed.inputs(i), "inputs of " + i);
      assertEquals(3, packed.validTargets(i));
    }
  }

  @Test
  void pack_padTail_keepsEveryTargetOnceWithAMask() {
    PackedSequences packed = PACKER.pack(DOCS, IDS, SequencePacker.Tail.PAD);

    assertEquals(6, packed.size());
    assertArrayEquals(new int[] {22, 2, PAD, PAD}, packed.window(1));
    assertEquals(1, packed.validTargets(1));
    assertArrayEquals(new boolean[] {true, false, false}, packed.targetMask(1));
    assertArrayEquals(new int[] {14, 2, PAD, PAD}, packed.window(5));
    assertEquals(List.of("humor", "humor", "news", "news", "news", "news"), domainsOf(packed));
    assertArrayEquals(new int[] {20, 21, 22, 2}, packed.targetTokens("humor"));
    assertArrayEquals(
        new int[] {10, 11, 2, 1, 12, 2, 1, 13, 14, 2}, packed.targetTokens("news"));
    assertEquals(Map.of("humor", 2, "news", 4), packed.sequenceCountByDomain());
  }

  @Test
  void pack_corpusShorterThanAWindow_isAnErrorUnlessPadded() {
    List<Document> tiny = List.of(new Document("t", "news", "10"));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new SequencePacker(8, BOS, EOS, PAD).pack(tiny, IDS, SequencePacker.Tail.DROP));
    assertEquals(
        "the corpus (3 tokens with bos/eos) fills no window of 9 tokens in any domain;"
            + " lower seqLen or pack with Tail.PAD",
        e.getMessage());
    PackedSequences padded =
        new SequencePacker(8, BOS, EOS, PAD).pack(tiny, IDS, SequencePacker.Tail.PAD);
    assertArrayEquals(new int[] {10, 2}, padded.targetTokens());
  }

  @Test
  void pack_negativeTokenId_isRejectedNamingTheDocument() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> PACKER.pack(List.of(new Document("d7", "news", "5 -3")), IDS,
                SequencePacker.Tail.PAD));
    assertEquals("encoder returned negative token id -3 for document 'd7'", e.getMessage());
  }

  private static List<String> domainsOf(PackedSequences packed) {
    return java.util.stream.IntStream.range(0, packed.size()).mapToObj(packed::domain).toList();
  }
}
