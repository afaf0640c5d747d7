# tests/sfemu/soql.*: SOQL parser and compiler to SQLite SQL
