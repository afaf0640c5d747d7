# tests/sfemu: the Salesforce REST API emulator (owned by the emulator work).
# The SOQL compiler's rules live in tests/sfemu/soql.mk.
include tests/sfemu/soql.mk
