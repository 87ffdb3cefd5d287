"""The monthly report to the city leadership (day 30, or February's last day): PDF, XLSX, CSV."""
