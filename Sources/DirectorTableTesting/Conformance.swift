import DirectorTable
/// Placeholder until the conformance suite lands.
public enum DirectorTableTestingModule {}
