print("director: not built yet")
