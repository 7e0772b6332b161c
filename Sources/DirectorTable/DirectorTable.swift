/// Placeholder until the table lands.
public enum DirectorTableModule {}
