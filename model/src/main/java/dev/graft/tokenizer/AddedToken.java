package dev.graft.tokenizer;

/**
 * A token of a {@code tokenizer.json}'s {@code added_tokens}: matched as a whole in the input text
 * before the model splits the rest, and given its own id. Special ones (bos, eos, chat markers,
 * reserved tokens) are dropped by {@link GraftTokenizer#decode(int[], boolean)} when asked to skip
 * specials; the others (extra words) are always kept.
 */
public record AddedToken(int id, String content, boolean special) {}
