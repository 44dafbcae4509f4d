print("zone: not built yet")
