package dev.graft.tokenizer;

import dev.graft.tokenizer.BpeModel.Merge;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Trains a byte-level BPE tokenizer in the style of GPT-2 and Hugging Face's {@code ByteLevel}
 * BPE: text is split with GPT-2's pre-tokenization pattern, each piece is taken as UTF-8 bytes,
 * and the most frequent adjacent pair of tokens is merged until the vocabulary reaches the
 * requested size. Every string is encodable (the 256 byte symbols are always in the vocabulary)
 * and decodes back exactly.
 *
 * <p>Training is deterministic: the pair with the highest count is merged first, and ties go to
 * the pair whose left token id is lowest, then whose right token id is lowest. The same corpus
 * (as a multiset of pieces) always gives the same {@link BpeModel}, hence the same files.
 *
 * <p>Cost: one pass over the corpus to count pieces, then merges over the table of distinct
 * pieces, each touching only the pieces that contain its pair.
 */
public final class BpeTrainer {

  /** The smallest vocabulary: the special tokens and the 256 byte symbols, without merges. */
  public static final int MIN_VOCAB_SIZE = SpecialToken.values().length + 256;

  private static final int FIRST_BYTE_ID = SpecialToken.values().length;

  private BpeTrainer() {}

  /**
   * Trains on {@code documents}, each an independent text, to at most {@code vocabSize} tokens.
   * The vocabulary is smaller only when the corpus runs out of pairs to merge.
   *
   * @throws IllegalArgumentException if {@code vocabSize < MIN_VOCAB_SIZE}
   */
  public static BpeModel train(Iterable<String> documents, int vocabSize) {
    checkVocabSize(vocabSize);
    WordCounter counter = new WordCounter();
    for (String document : documents) {
      counter.add(Objects.requireNonNull(document, "documents must not contain null"));
    }
    return merge(counter, vocabSize);
  }

  /** As {@link #train(Iterable, int)}, consuming the stream. */
  public static BpeModel train(Stream<String> documents, int vocabSize) {
    return train(documents::iterator, vocabSize);
  }

  private static void checkVocabSize(int vocabSize) {
    if (vocabSize < MIN_VOCAB_SIZE) {
      throw new IllegalArgumentException(
          "vocabSize (" + vocabSize + ") must be at least " + MIN_VOCAB_SIZE + ": "
              + SpecialToken.values().length + " special tokens + 256 byte symbols");
    }
  }

  static BpeModel merge(WordCounter counter, int vocabSize) {
    List<String> tokens = new ArrayList<>();
    for (SpecialToken special : SpecialToken.values()) {
      tokens.add(special.content());
    }
    for (int b = 0; b < 256; b++) {
      tokens.add(String.valueOf(ByteLevel.symbol(b)));
    }
    Map<String, Integer> ids = new HashMap<>();
    for (int id = 0; id < tokens.size(); id++) {
      ids.put(tokens.get(id), id);
    }
    long[] freqs = new long[counter.distinctWords()];
    PairIndex index = new PairIndex(counter.words(FIRST_BYTE_ID, freqs), freqs);
    List<Merge> merges = new ArrayList<>();
    PairIndex.Candidate best;
    while (tokens.size() < vocabSize && (best = index.best()) != null) {
      String left = tokens.get(best.left());
      String right = tokens.get(best.right());
      // Two different pairs can spell the same token ("ab"+"c", "a"+"bc"): both map to one id.
      Integer merged = ids.computeIfAbsent(left + right, joined -> {
        tokens.add(joined);
        return tokens.size() - 1;
      });
      merges.add(new Merge(left, right));
      index.merge(best.left(), best.right(), merged);
    }
    return new BpeModel(tokens, merges, BpeModel.DEFAULT_MODEL_MAX_LENGTH);
  }

  /**
   * Trains from text files and writes the tokenizer files.
   *
   * <p>Usage: {@code BpeTrainer <vocabSize> <outputDir> <file-or-directory>...}. Each UTF-8 file is
   * one document; directories are walked and their regular files taken in path order.
   */
  public static void main(String[] args) throws IOException {
    if (args.length < 3) {
      System.err.println("usage: BpeTrainer <vocabSize> <outputDir> <file-or-directory>...");
      System.exit(2);
    }
    int vocabSize = Integer.parseInt(args[0]);
    checkVocabSize(vocabSize);
    Path outputDir = Path.of(args[1]);
    List<Path> files = textFiles(List.of(args).subList(2, args.length));

    long start = System.nanoTime();
    WordCounter counter = new WordCounter();
    long chars = 0;
    for (Path file : files) {
      String text = readUtf8(file);
      chars += text.length();
      counter.add(text);
    }
    long counted = System.nanoTime();
    BpeModel model = merge(counter, vocabSize);
    long merged = System.nanoTime();
    Path written = model.write(outputDir);

    System.out.printf(
        "%d files, %d chars, %d pieces (%d distinct): counted in %d ms, %d merges in %d ms,"
            + " total %d ms%nvocabulary %d tokens -> %s%n",
        files.size(), chars, counter.preTokens(), counter.distinctWords(),
        (counted - start) / 1_000_000, model.merges().size(), (merged - counted) / 1_000_000,
        (merged - start) / 1_000_000, model.vocabSize(), written);
  }

  private static List<Path> textFiles(List<String> args) throws IOException {
    List<Path> files = new ArrayList<>();
    for (String arg : args) {
      Path path = Path.of(arg);
      if (Files.isDirectory(path)) {
        try (Stream<Path> walk = Files.walk(path)) {
          files.addAll(walk.filter(Files::isRegularFile).sorted().collect(Collectors.toList()));
        }
      } else if (Files.isRegularFile(path)) {
        files.add(path);
      } else {
        throw new IllegalArgumentException("no such file or directory: " + path.toAbsolutePath());
      }
    }
    return files;
  }

  private static String readUtf8(Path file) throws IOException {
    try {
      return Files.readString(file);
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(file.toAbsolutePath() + " is not UTF-8 text", e);
    }
  }
}
