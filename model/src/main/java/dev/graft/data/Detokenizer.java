package dev.graft.data;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Joins the word tokens of one paragraph of a tokenized corpus (Penn/Brown conventions) back into
 * readable text.
 *
 * <ul>
 *   <li>No space before closing punctuation ({@code , . ; : ? ! ) ] } %}) nor before the clitics
 *       {@code n't 's 're 've 'll 'd 'm}.
 *   <li>No space after opening brackets ({@code ( [ {}).
 *   <li>{@code ``} and {@code ''} become a double quote that attaches to the following and to the
 *       preceding word respectively.
 *   <li>A period after a word that already ends in one ({@code Jr. .}) is dropped.
 *   <li>A lone {@code '} alternates between an opening and a closing single quote within the
 *       paragraph.
 * </ul>
 */
final class Detokenizer {

  private static final Set<String> CLOSING =
      Set.of(",", ".", ";", ":", "?", "!", ")", "]", "}", "%", "...");
  private static final Set<String> OPENING = Set.of("(", "[", "{");
  private static final Set<String> CLITICS = Set.of("n't", "'s", "'re", "'ve", "'ll", "'d", "'m");

  private Detokenizer() {}

  /** Returns the tokens joined with single spaces except where the rules above remove them. */
  static String join(List<String> tokens) {
    StringBuilder out = new StringBuilder();
    boolean attachNext = true;
    boolean singleQuoteOpen = false;
    String previous = "";
    for (String token : tokens) {
      if (token.equals(".") && previous.length() > 1 && previous.endsWith(".")) {
        continue;
      }
      previous = token;
      String text = token;
      boolean attach = attachNext;
      attachNext = false;
      switch (token) {
        case "``" -> {
          text = "\"";
          attachNext = true;
        }
        case "''" -> {
          text = "\"";
          attach = true;
        }
        case "'" -> {
          if (singleQuoteOpen) {
            attach = true;
          } else {
            attachNext = true;
          }
          singleQuoteOpen = !singleQuoteOpen;
        }
        default -> {
          attach |= CLOSING.contains(token) || CLITICS.contains(token.toLowerCase(Locale.ROOT));
          attachNext = OPENING.contains(token);
        }
      }
      if (!attach) {
        out.append(' ');
      }
      out.append(text);
    }
    return out.toString();
  }
}
