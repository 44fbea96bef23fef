import ArgumentParser
import Yams
import HummingbirdBcrypt
import AsyncHTTPClient
public enum LookoutCLIPlaceholder {}
